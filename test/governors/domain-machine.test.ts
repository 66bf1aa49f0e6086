import { assign, log, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from '../../machines/governors/domain-machine.ts';
import { decideEvent, protocol } from '../../machines/governors/governor-kit.ts';
import { CUSTOMER, lifecycle } from './model-support.ts';

/** A two-state domain (MultiTenant's event type, so the routing lets it through) to test the protocol piece on. */
const toy = setup({
  types: {} as { context: DomainContext<{ n: number }>; events: DomainEvent<'UsageExceedsQuota', { usage: unknown }> | DomainTimeout },
  guards: { big: ({ event }) => event.type === 'UsageExceedsQuota' && Number(event.usage) > 10 },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    count: assign(({ context }) => ({ data: { n: context.data.n + 1 }, outcome: outcome.applied })),
    reset: assign({ data: { n: 0 } }),
  },
}).createMachine({
  id: 'Toy',
  initial: 'Calm',
  context: domainContext({ n: 0 }),
  states: {
    Calm: { on: { UsageExceedsQuota: [{ guard: 'big', target: 'Busy', actions: 'count' }, { actions: 'count' }] } },
    Busy: { on: { UsageExceedsQuota: { actions: { type: 'reject', params: { reason: 'busy' } } }, timeout: { target: 'Calm', actions: 'reset' } } },
  },
});

const toyGovernor = governorFromMachine<'Calm' | 'Busy', { n: number }>(toy, { kind: 'MultiTenant', init: () => ({ n: 0 }), timing: { Busy: { ms: 1000, clock: 'node' } } });
const usage = (n: number) => lifecycle('UsageExceedsQuota', { usage: n });

describe('a governor read from its domain machine', () => {
  it('reads its states, initial state, commit targets and timeouts from the machine', () => {
    // Calm is a target too: the timer enters it, and an event can stay in it (decided as of a
    // deadline whose timer has not fired yet, the commit moves into Calm).
    expect([toyGovernor.states, toyGovernor.initial, toyGovernor.targets]).toEqual([['Calm', 'Busy'], 'Calm', ['Calm', 'Busy']]);
    expect(toyGovernor.timeouts?.Busy).toMatchObject({ ms: 1000, clock: 'node', to: 'Calm' });
    expect(toyGovernor.timeouts?.Busy?.update?.({ n: 5 })).toEqual({ n: 0 });
  });

  it('decides with the transition the machine takes: applied moves or stays, a refusal stays with its reason', () => {
    const context = { state: 'Calm' as const, data: { n: 1 }, customerId: CUSTOMER };
    expect(decideEvent(toyGovernor, context, usage(11))).toEqual({ status: 'applied', next: { state: 'Busy', data: { n: 2 } } });
    expect(decideEvent(toyGovernor, context, usage(1))).toEqual({ status: 'applied', next: { state: 'Calm', data: { n: 2 } } });
    expect(decideEvent(toyGovernor, { ...context, state: 'Busy' }, usage(1))).toEqual({ status: 'rejected', reason: 'busy' });
  });

  it('decides each time on the data and customer it is given, whoever was decided in that state before', () => {
    // A snapshot is resolved once per state and reused with each decision's own context.
    const calm = (n: number) => ({ state: 'Calm' as const, data: { n }, customerId: CUSTOMER });
    const first = decideEvent(toyGovernor, calm(1), usage(11));
    expect(decideEvent(toyGovernor, calm(7), usage(11))).toEqual({ status: 'applied', next: { state: 'Busy', data: { n: 8 } } });
    expect(decideEvent(toyGovernor, calm(1), usage(11))).toEqual(first);
    expect(decideEvent(toyGovernor, { ...calm(3), state: 'Busy' }, usage(1))).toEqual({ status: 'rejected', reason: 'busy' });
    expect(decideEvent(toyGovernor, calm(3), usage(1))).toEqual({ status: 'applied', next: { state: 'Calm', data: { n: 4 } } });
    expect(toyGovernor.timeouts?.Busy?.update?.({ n: 9 })).toEqual({ n: 0 });
  });

  it('answers an event no transition takes as not applicable, naming the state', () => {
    const calmOnly = setup({ types: {} as { context: DomainContext<{ n: number }>; events: DomainEvent<'UsageExceedsQuota'> } }).createMachine({
      id: 'CalmOnly',
      initial: 'Calm',
      context: domainContext({ n: 0 }),
      states: { Calm: {} },
    });
    const governor = governorFromMachine<'Calm', { n: number }>(calmOnly, { kind: 'MultiTenant', init: () => ({ n: 0 }) });
    expect(decideEvent(governor, { state: 'Calm', data: { n: 0 }, customerId: CUSTOMER }, usage(1))).toEqual({ status: 'not_applicable', reason: 'MultiTenant does not handle UsageExceedsQuota in Calm' });
  });

  it('runs the protocol on it: prepare keeps the machine’s outcome pending, commit adopts it', () => {
    const prepared = protocol.prepare(toyGovernor, protocol.initial(toyGovernor, CUSTOMER), usage(11));
    expect(prepared.reply.status).toBe('applied');
    expect(protocol.commit(toyGovernor, prepared.context, prepared.context.pending!.eventId)).toMatchObject({ state: 'Busy', data: { n: 1 }, version: 1, pending: null });
  });

  it('refuses a timing without a timeout transition, and a timeout transition without a timing', () => {
    expect(() => governorFromMachine<'Calm' | 'Busy', { n: number }>(toy, { kind: 'MultiTenant', init: () => ({ n: 0 }) })).toThrow(/Busy has a timeout transition but no timing/);
    expect(() => governorFromMachine<'Calm' | 'Busy', { n: number }>(toy, { kind: 'MultiTenant', init: () => ({ n: 0 }), timing: { Calm: { ms: 1 }, Busy: { ms: 1 } } })).toThrow(/Calm has a timing but no timeout transition/);
  });

  it('throws on an action other than an assignment: a pure transition would drop it', () => {
    const noisy = setup({ types: {} as { context: DomainContext<{ n: number }>; events: DomainEvent<'UsageExceedsQuota'> } }).createMachine({
      id: 'Noisy',
      initial: 'Calm',
      context: domainContext({ n: 0 }),
      states: { Calm: { on: { UsageExceedsQuota: { actions: log('effect') } } } },
    });
    const governor = governorFromMachine<'Calm', { n: number }>(noisy, { kind: 'MultiTenant', init: () => ({ n: 0 }) });
    expect(() => governor.decide('Calm', { n: 0 }, usage(1), CUSTOMER)).toThrow(/may only assign/);
  });
});
