import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply } from '../../src/index.ts';
import { replyTo, stateTimeout } from '../../src/runtime/statem-actions.ts';
import { FEEDBACK_DEADLINE_MS, GOVERNOR_CALL_TIMEOUT_MS, orchestratorMachine, type OrchestratorContext, type Outcome } from '../../machines/orchestrator.ts';
import { handledRecordKey } from '../../machines/handled-events.ts';
import { GOVERNORS, ROUTES, type GovernorKind, type GovernorReply } from '../../machines/governor-protocol.ts';

type Log = Array<{ governor: string; type: string; eventId: string }>;
/** How a fake governor answers one event's `prepare`: a reply (default `applied`), or never. */
type Script = (governor: GovernorKind, eventId: string) => Partial<GovernorReply> | 'silent' | undefined;

/** A governor that answers `prepare` as the script says and logs everything it is told. */
function fakeGovernor(kind: GovernorKind, log: Log, script: Script) {
  return setup({}).createMachine({
    id: kind,
    initial: 'ready',
    states: {
      ready: {
        on: {
          prepare: [
            {
              guard: ({ event }) => script(kind, event.event.eventId) === 'silent',
              actions: ({ event }) => void log.push({ governor: kind, type: 'prepare', eventId: event.event.eventId }),
            },
            {
              actions: [
                ({ event }) => void log.push({ governor: kind, type: 'prepare', eventId: event.event.eventId }),
                reply(({ event }) => ({ governor: kind, status: 'applied', version: 0, ...(script(kind, event.event.eventId) as Partial<GovernorReply>) })),
              ],
            },
          ],
          commit: { actions: ({ event }) => void log.push({ governor: kind, type: 'commit', eventId: event.eventId }) },
          abort: { actions: ({ event }) => void log.push({ governor: kind, type: 'abort', eventId: event.eventId }) },
          append: { actions: ({ event }) => void log.push({ governor: kind, type: 'receipt', eventId: event.eventId }) },
        },
      },
    },
  });
}

/** How long a slow fake governor takes to answer: less than a round's deadline. */
const SLOW_MS = 3_000;

/** A governor that answers `prepare` (`applied`) {@link SLOW_MS} after it, on the runtime clock. */
function slowGovernor(kind: GovernorKind, log: Log) {
  return setup({ types: {} as { context: { caller: unknown } } }).createMachine({
    id: kind,
    initial: 'ready',
    context: { caller: null },
    states: {
      ready: {
        on: {
          prepare: {
            target: 'answering',
            actions: [({ event }) => void log.push({ governor: kind, type: 'prepare', eventId: event.event.eventId }), assign({ caller: ({ event }) => event.$from })],
          },
          commit: {},
          abort: {},
          append: {},
        },
      },
      answering: {
        entry: stateTimeout(SLOW_MS, { type: 'answer' }),
        on: { answer: { target: 'ready', actions: replyTo(({ context }) => context.caller, { governor: kind, status: 'applied', version: 0 }) } },
      },
    },
  });
}

/**
 * The orchestrator, fake governors and receipts on one node; `name`: a node after a restart is
 * another node; `slowMs`: the governors answer that late (`slowGovernor`).
 */
function world(script: Script = () => undefined, store = new MemoryStore(), name?: string, slowMs?: number) {
  const clock = new SimulatedClock(1_000_000);
  const node = createNode({ clock, ...(name ? { name } : {}) });
  const log: Log = [];
  new EntityHost(
    node,
    [
      { kind: 'Orchestrator', machine: orchestratorMachine, recordKey: handledRecordKey },
      ...GOVERNORS.map((kind) => ({ kind, machine: slowMs ? slowGovernor(kind, log) : fakeGovernor(kind, log, script) })),
      { kind: 'Receipts', machine: fakeGovernor('Receipts' as GovernorKind, log, () => undefined) },
    ],
    { restore: (a) => store.get(a)?.state, records: (a, key) => store.record(a, key), commit: (a, persist) => store.set(a, persist()) },
  );
  const address = { entity: 'Orchestrator', key: 'c1' };
  const submit = (event: Record<string, unknown>) => node.call<Outcome>(address, { type: 'lifecycle', event, receivedAt: clock.now() }, { timeout: 60_000 });
  const orchestrator = () => node.entities!.processOf(address)!.getState() as { value: unknown; context: OrchestratorContext };
  const exists = (governor: GovernorKind) => node.entities!.processOf({ entity: governor, key: 'c1' }) !== undefined;
  return { node, clock, log, submit, store, orchestrator, exists, address };
}

const event = (eventId: string, type = 'CustomerSubscribes') => ({ eventId, customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z', type, sku: 'pro', tier: 'Professional' });
const of = (log: Log, type: string, eventId: string) => log.filter((l) => l.type === type && l.eventId === eventId).map((l) => l.governor);
/** Lets the memory transport deliver what is in flight, without moving the clock. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('fan-out: prepare to all the governors of an event at once', () => {
  const route = ROUTES.CustomerSubscribes!;

  it('asks every governor met before at once: a silent one holds none of the others back', async () => {
    const { submit, log, clock } = world((governor, eventId) => (eventId === 'e2' && governor === 'Billing' ? 'silent' : undefined));
    await submit(event('e1'));
    const pending = submit(event('e2'));
    await flush();
    // Asked one after another, Subscription (after Billing) would wait for Billing's answer.
    expect(of(log, 'prepare', 'e2')).toEqual(route);
    clock.advance(GOVERNOR_CALL_TIMEOUT_MS);
    const outcome = await pending;
    expect(outcome).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^Billing unreachable: /) });
    // The walk stops at Billing: only Entitlement's reply is reported, as one by one.
    expect((outcome as { replies: GovernorReply[] }).replies.map((r) => r.governor)).toEqual(['Entitlement']);
    // Everyone asked is compensated, in reverse route order; nothing of e2 is committed.
    expect(of(log, 'abort', 'e2')).toEqual([...route].reverse());
    expect(of(log, 'commit', 'e2')).toEqual([]);
  });

  it('commits every governor at once after the last reply, and appends one receipt', async () => {
    const { submit, log } = world();
    await submit(event('e1'));
    const outcome = await submit(event('e2'));
    expect(outcome).toMatchObject({ status: 'completed' });
    expect((outcome as { replies: GovernorReply[] }).replies.map((r) => r.governor)).toEqual(route);
    expect(of(log, 'commit', 'e2')).toEqual(route);
    expect(of(log, 'receipt', 'e2')).toEqual(['Receipts']);
  });

  it('reports the first refusal in route order, whichever came first', async () => {
    const { submit } = world((governor, eventId) =>
      eventId === 'e2' && (governor === 'Billing' || governor === 'QuotaSla') ? { status: 'rejected', reason: governor === 'Billing' ? 'no money' : 'no quota' } : undefined,
    );
    await submit(event('e1'));
    expect(await submit(event('e2'))).toMatchObject({ status: 'rejected', reason: 'Billing rejected: no money' });
  });

  it('checks the declared conflicts over the whole reply set: a blocking one rejects, counted and kept', async () => {
    const { submit, orchestrator } = world((governor, eventId): Partial<GovernorReply> | undefined => {
      if (eventId !== 'e2') return undefined;
      if (governor === 'Billing') return { facts: { standing: 'delinquent' } };
      if (governor === 'Entitlement') return { facts: { entitlement: 'active' } };
      return undefined;
    });
    await submit(event('e1'));
    const outcome = await submit(event('e2'));
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'conflict: activation-while-delinquent (compensating-transaction)' });
    expect(orchestrator().context.stats.conflicts).toBe(1);
    expect(orchestrator().context.conflicts.map((c) => c.kind)).toEqual(['activation-while-delinquent']);
  });

  it('asks a governor never met only once all before it answered without a refusal: a refusal creates none behind it', async () => {
    const { submit, log, exists } = world((governor) => (governor === 'Billing' ? { status: 'rejected', reason: 'no' } : undefined));
    expect(await submit(event('e1'))).toMatchObject({ status: 'rejected', reason: 'Billing rejected: no' });
    expect(of(log, 'prepare', 'e1')).toEqual(['Entitlement', 'Billing']);
    for (const governor of route.slice(2)) expect(exists(governor)).toBe(false);
    expect(of(log, 'abort', 'e1')).toEqual(['Entitlement']);
  });

  it('counts an answer of an event that has ended as stale, never as an answer to the event in progress', async () => {
    const { submit, node, orchestrator, clock } = world((governor, eventId) => (eventId === 'e2' && governor === 'Billing' ? 'silent' : undefined));
    await submit(event('e1'));
    const pending = submit(event('e2'));
    await flush();
    const pid = node.entities!.processOf({ entity: 'Orchestrator', key: 'c1' })!.pid;
    // Billing's late answer to e1, while e2 waits for Billing.
    node.cast(pid, { type: 'governor.reply', eventId: 'e1', governor: 'Billing', reply: { governor: 'Billing', status: 'applied', version: 0 } });
    await flush();
    expect(orchestrator().context.staleReplies).toBe(1);
    expect(orchestrator().value).toBe('AwaitingFeedback');
    clock.advance(GOVERNOR_CALL_TIMEOUT_MS);
    expect(await pending).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^Billing unreachable/) });
  });
});

describe('state timeouts, fired by the runtime clock', () => {
  it("AwaitingFeedback's deadline: answers lost with the node that called (a restart) reject the event as `timeout`", async () => {
    const store = new MemoryStore();
    const silent: Script = (governor, eventId) => (eventId === 'e1' && governor === 'Billing' ? 'silent' : undefined);
    const before = world(silent, store);
    void before.submit(event('e1')).catch(() => undefined);
    await flush();
    expect(before.orchestrator().value).toBe('AwaitingFeedback');
    await before.node.stop();

    // A new node restores the orchestrator waiting, with its deadline but without the calls.
    const after = world(silent, store, 'restarted');
    const next = after.submit(event('e2', 'RenewalDue'));
    await flush();
    after.clock.advance(FEEDBACK_DEADLINE_MS - 1);
    await flush();
    expect(after.orchestrator().value).toBe('AwaitingFeedback');
    after.clock.advance(1);
    await flush();
    expect(after.store.record(after.address, 'e1')).toMatchObject({ status: 'rejected', reason: 'timeout' });
    expect(after.orchestrator().context.stats.timeouts).toBe(1);
    // Everyone e1 had asked is compensated; then e2, postponed meanwhile, is taken.
    expect(of(after.log, 'abort', 'e1')).toEqual(['Billing', 'Entitlement']);
    expect(await next).toMatchObject({ status: 'completed', eventId: 'e2' });
  });

  it('a new round arms the deadline again: a new customer, asked one by one, is not held to one deadline for all', async () => {
    const { submit, clock, log, orchestrator } = world(() => undefined, new MemoryStore(), undefined, SLOW_MS);
    const pending = submit(event('e1'));
    const route = ROUTES.CustomerSubscribes!;
    // Each governor answers SLOW_MS after its prepare: each round within its deadline, all of
    // them together far beyond one.
    expect(route.length * SLOW_MS).toBeGreaterThan(FEEDBACK_DEADLINE_MS);
    for (let round = 1; round <= route.length; round++) {
      await flush();
      expect(of(log, 'prepare', 'e1')).toEqual(route.slice(0, round));
      clock.advance(SLOW_MS);
    }
    expect(await pending).toMatchObject({ status: 'completed' });
    expect(orchestrator().context.stats.timeouts).toBe(0);
  });
});
