import { describe, expect, expectTypeOf, it } from 'vitest';
import { createActor, type ContextFrom } from 'xstate';
import { defineGovernor, protocol, type GovernorContext, type GovernorDefinition } from '../../machines/governors/governor-kit.ts';
import { subscriptionMachine } from '../../machines/governors/subscription.ts';
import { SimulatedClock, StatemProcess, createNode, spawnStatem, type Pid } from '../../src/index.ts';
import { ev, given } from './domain-support.ts';
import { CUSTOMER } from './model-support.ts';

/** A toy governor on MultiTenant's routes: a breach turns it On, a second counts, an hour turns it Done. */
type S = 'Off' | 'On' | 'Done';
type D = { count: number };
const toy: GovernorDefinition<S, D> = {
  kind: 'MultiTenant',
  states: ['Off', 'On', 'Done'],
  initial: 'Off',
  init: () => ({ count: 0 }),
  targets: ['On'],
  decide: (state, data, event) => {
    if (event.type === 'ManualSuspension') {
      if (event.reason === 'throw') throw new Error('boom in decide');
      if (event.reason === 'escape') return { status: 'applied', next: { state: 'Done', data } };
      if (event.reason === 'no-next') return { status: 'applied' };
      return { status: 'not_applicable' };
    }
    if (state === 'Done') return { status: 'rejected', reason: 'done' };
    return { status: 'applied', next: { state: 'On', data: { count: data.count + 1 } }, facts: { count: data.count + 1 } };
  },
  timeouts: { On: { ms: 3_600_000, to: 'Done' } },
  facts: (state) => ({ toy: state }),
};
const breach = () => ev('UsageExceedsQuota', { resource: 'cpu', usage: 2, limit: 1 });

describe('the two-phase protocol', () => {
  it('keeps an applied change pending, invisible, until its commit', () => {
    const start = protocol.initial(toy, CUSTOMER);
    const event = breach();
    const { reply, context } = protocol.prepare(toy, start, event);
    expect(reply).toEqual({ governor: 'MultiTenant', status: 'applied', version: 0, facts: { toy: 'On', count: 1 } });
    expect([context.state, context.data, context.pending?.eventId]).toEqual(['Off', { count: 0 }, event.eventId]);
    // The commit writes the reply as the event's record (beside the state), without its facts.
    const { facts: _facts, ...recorded } = reply;
    expect(protocol.committedRecord(toy, context, event.eventId)).toEqual(recorded);
    const committed = protocol.commit(toy, context, event.eventId);
    expect([committed.state, committed.data, committed.version, committed.pending]).toEqual(['On', { count: 1 }, 1, null]);
    expect(committed).not.toHaveProperty('committed');
    expect(protocol.committedRecord(toy, committed, event.eventId)).toBeUndefined(); // a repeated commit writes nothing
  });

  it('resolves each commit for its own definition, context and event, asked in any order', () => {
    // A commit's guards, records and next context all ask the same question of one context: the
    // kit keeps the last answer, which must never be handed to another question.
    const other: GovernorDefinition<S, D> = { ...toy, decide: () => ({ status: 'not_applicable', reason: 'not mine' }) };
    const first = breach();
    const second = breach();
    const a = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), first).context;
    const b = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), second).context;
    const stale = { ...a, version: a.version + 1 }; // a timer moved it since: decided again
    const asked = () => [
      protocol.committedRecords(toy, a, first.eventId),
      protocol.committedRecords(toy, a, second.eventId),
      protocol.committedRecords(toy, b, second.eventId),
      protocol.committedRecords(toy, stale, first.eventId),
      protocol.committedRecords(other, stale, first.eventId),
      protocol.commit(toy, a, second.eventId),
      protocol.commit(toy, b, second.eventId).data,
    ];
    const once = asked();
    expect(once.slice(0, 5)).toEqual([
      { [first.eventId]: { governor: 'MultiTenant', status: 'applied', version: 0 } },
      {},
      { [second.eventId]: { governor: 'MultiTenant', status: 'applied', version: 0 } },
      { [first.eventId]: { governor: 'MultiTenant', status: 'applied', version: 1 } },
      { [first.eventId]: { governor: 'MultiTenant', status: 'not_applicable', reason: 'not mine', version: 1 } },
    ]);
    expect(once[5]).toBe(a);
    expect(once[6]).toEqual({ count: 1 });
    // Asked again, in reverse, and each twice in a row: the same answers.
    const reversed = asked().reverse();
    expect(reversed.reverse()).toEqual(once);
    expect(protocol.committedRecords(toy, stale, first.eventId)).toEqual(protocol.committedRecords(toy, stale, first.eventId));
  });

  it('answers a redelivered prepare with the reply it gave, and changes nothing', () => {
    const event = breach();
    const first = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), event);
    const record = protocol.committedRecord(toy, first.context, event.eventId)!;
    const after = protocol.commit(toy, first.context, event.eventId);
    const again = protocol.prepare(toy, after, event, record);
    // The same answer; its version and facts are those of now (facts are checked against the
    // other governors' current ones, so stale facts could hide a conflict).
    expect(again.reply).toEqual({ ...first.reply, version: 1, facts: { toy: 'On' } });
    expect(again.context).toBe(after);
    // And a repeated commit is a no-op: applied once, however often it is delivered.
    expect(protocol.commit(toy, after, event.eventId)).toBe(after);
  });

  it('drops the change on abort; a commit after the abort does nothing', () => {
    const event = breach();
    const { context } = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), event);
    const aborted = protocol.abort(context, event.eventId);
    expect(aborted.pending).toBeNull();
    expect(protocol.commit(toy, aborted, event.eventId)).toBe(aborted);
    expect(protocol.abort(aborted, 'other')).toBe(aborted);
  });

  it('replaces a stale pending change with the next event’s', () => {
    const a = breach();
    const b = breach();
    const once = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), a).context;
    const twice = protocol.prepare(toy, once, b).context;
    expect(twice.pending?.eventId).toBe(b.eventId);
    expect(protocol.commit(toy, twice, a.eventId)).toBe(twice);
  });

  it('decides again at commit when a timer changed the state since the prepare', () => {
    const first = breach();
    const base = protocol.commit(toy, protocol.prepare(toy, protocol.initial(toy, CUSTOMER), first).context, first.eventId);
    const next = breach();
    const pending = protocol.prepare(toy, base, next).context;
    const timedOut = protocol.timeout(toy, pending);
    expect([timedOut.state, timedOut.version]).toEqual(['Done', 2]);
    // Done rejects a breach: the stale change is dropped, not applied over the timer's state.
    const committed = protocol.commit(toy, timedOut, next.eventId);
    expect([committed.state, committed.data, committed.pending]).toEqual(['Done', { count: 1 }, null]);
  });

  it('records an event that changed nothing here, so its redelivery gets the same answer', () => {
    const event = ev('ManualSuspension', { reason: 'nothing', actor: 'a' });
    const prepared = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), event);
    expect(prepared.reply.status).toBe('not_applicable');
    expect(prepared.context.pending).toMatchObject({ eventId: event.eventId, next: null });
    const record = protocol.committedRecord(toy, prepared.context, event.eventId);
    expect(record).toMatchObject({ status: 'not_applicable' });
    const committed = protocol.commit(toy, prepared.context, event.eventId);
    expect([committed.state, committed.version, committed.pending]).toEqual(['Off', 0, null]);
    // Meanwhile the governor moved on; the old event still changes nothing here.
    const moved = given(toy, [breach()]);
    const again = protocol.prepare(toy, moved, event, record);
    expect(again.reply.status).toBe('not_applicable');
    expect(again.context).toBe(moved);
  });

  it.each([
    ['a malformed event', { ...breach(), occurredAt: 'yesterday' }, 'rejected', /malformed event: occurredAt/],
    ['another customer’s event', { ...breach(), customerId: 'c2' }, 'rejected', /reached the governor of "c1"/],
    ['a decision that throws', ev('ManualSuspension', { reason: 'throw', actor: 'a' }), 'rejected', /could not decide ManualSuspension: boom in decide/],
    ['a move to a state outside the targets', ev('ManualSuspension', { reason: 'escape', actor: 'a' }), 'rejected', /not one of its targets/],
    ['an applied decision without a next state', ev('ManualSuspension', { reason: 'no-next', actor: 'a' }), 'rejected', /without a next state/],
  ])('refuses %s, keeping nothing to commit', (_name, event, status, reason) => {
    const { reply, context } = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), event as never);
    expect(reply.status).toBe(status);
    expect(reply.reason).toMatch(reason);
    expect(context.pending).toBeNull();
  });

  it('answers an event type not routed here as not applicable, without asking the domain', () => {
    const { reply } = protocol.prepare(toy, protocol.initial(toy, CUSTOMER), ev('PaymentProcessed', { amount: '1.00' }));
    expect(reply).toMatchObject({ status: 'not_applicable', reason: expect.stringMatching(/does not handle PaymentProcessed/) });
  });

  it('keeps no list of committed events: the context does not grow with them', () => {
    let context = protocol.initial(toy, CUSTOMER);
    const records = new Set<string>();
    let young = 0;
    for (let i = 0; i < 300; i++) {
      const event = breach();
      const prepared = protocol.prepare(toy, context, event).context;
      if (protocol.committedRecord(toy, prepared, event.eventId)) records.add(event.eventId);
      context = protocol.commit(toy, prepared, event.eventId);
      if (i === 9) young = JSON.stringify(context).length;
    }
    expect(records.size).toBe(300);
    expect(context.data.count).toBe(300);
    expect(JSON.stringify(context).length).toBeLessThan(young + 8); // a counter's digits
  });
});

describe('a governor machine under the runtime', () => {
  const start = () => {
    const clock = new SimulatedClock(Date.parse('2026-01-05T10:00:00Z'));
    const node = createNode({ clock });
    return { clock, node };
  };
  const state = (node: ReturnType<typeof createNode>, pid: Pid) => (node.processOf(pid)!.getState() as { value: string; context: { version: number } });

  it('replies to prepare, moves on commit, and never postpones a stray commit or abort', async () => {
    const { node } = start();
    const pid = spawnStatem(node, defineGovernor(toy), { input: { key: CUSTOMER } });
    const event = breach();
    expect(await node.call(pid, { type: 'prepare', event })).toMatchObject({ status: 'applied', version: 0 });
    node.cast(pid, { type: 'commit', eventId: 'unknown' });
    node.cast(pid, { type: 'abort', eventId: 'unknown' });
    expect(state(node, pid).value).toBe('Off');
    node.cast(pid, { type: 'commit', eventId: event.eventId });
    expect(state(node, pid)).toMatchObject({ value: 'On', context: { version: 1 } });
    expect(await node.call(pid, { type: 'inspect' })).toMatchObject({ state: 'On', version: 1, data: { count: 1 }, pending: null });
    expect((node.processOf(pid) as StatemProcess).postponedEvents()).toEqual([]);
  });

  it('answers queries with their arguments, and a query that throws with the error', async () => {
    const { node } = start();
    const asked: GovernorDefinition<S, D> = {
      ...toy,
      queries: {
        countPlus: ({ data }, { plus }) => data.count + Number(plus),
        broken: () => {
          throw new Error('bad arguments');
        },
      },
    };
    const pid = spawnStatem(node, defineGovernor(asked), { input: { key: CUSTOMER } });
    expect(await node.call(pid, { type: 'countPlus', plus: 2 })).toBe(2);
    expect(await node.call(pid, { type: 'broken' })).toEqual({ error: 'bad arguments' });
  });

  // The machine tells the protocol's messages from queries by their type: a query named like one
  // would be taken for it (or hidden by it).
  it.each(['prepare', 'commit', 'abort', 'timeout', 'inspect'])('refuses a query named "%s", a protocol message', (name) => {
    expect(() => defineGovernor({ ...toy, queries: { [name]: () => 0 } })).toThrow(`MultiTenant: a query may not be named "${name}"`);
  });

  it('announces entering a state as the definition says, with the data it enters with', () => {
    const actor = createActor(defineGovernor({ ...toy, announce: { On: (data) => ({ type: 'toy.on', count: data.count }) } }), { input: { key: CUSTOMER } });
    const announced: unknown[] = [];
    actor.on('toy.on', (emitted) => announced.push(emitted));
    actor.start();
    for (const event of [breach(), breach()]) {
      actor.send({ type: 'prepare', event });
      actor.send({ type: 'commit', eventId: event.eventId });
    }
    // Entered once (the second breach stays in On): one announcement.
    expect(announced).toEqual([{ type: 'toy.on', count: 1 }]);
  });

  it('is typed by its definition: its context is the governor context of its states and data', () => {
    const machine = defineGovernor(toy);
    // Checked by the compiler (tsc): a machine typed as any machine fails it.
    expectTypeOf<ContextFrom<typeof machine>>().toEqualTypeOf<GovernorContext<S, D>>();
    expect(machine.id).toBe('MultiTenant');
  });

  it('runs long waits as runtime state timeouts that survive a restore from a persisted state', async () => {
    const { node, clock } = start();
    const pid = spawnStatem(node, subscriptionMachine, { input: { key: CUSTOMER } });
    const subscribe = { ...ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }), occurredAt: new Date(clock.now()).toISOString() };
    await node.call(pid, { type: 'prepare', event: subscribe });
    node.cast(pid, { type: 'commit', eventId: subscribe.eventId });
    expect(state(node, pid).value).toBe('Trial');
    clock.advance(10 * 86_400_000);
    // Passivated after 10 days, restored elsewhere: the trial still ends on day 14, not day 24.
    const persisted = (node.processOf(pid) as StatemProcess).persist();
    node.exit(pid, 'kill');
    const restored = spawnStatem(node, subscriptionMachine, { restore: persisted });
    expect(state(node, restored).value).toBe('Trial');
    clock.advance(4 * 86_400_000 - 1);
    expect(state(node, restored).value).toBe('Trial');
    clock.advance(1);
    expect(state(node, restored)).toMatchObject({ value: 'Active', context: { version: 2 } });
  });
});
