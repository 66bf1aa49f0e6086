import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply } from '../../src/index.ts';
import { orchestratorMachine, type Outcome } from '../../machines/orchestrator.ts';
import { handledRecordKey } from '../../machines/handled-events.ts';
import { contentDigest } from '../../src/marketplace/event-digest.ts';
import { GOVERNORS, ROUTES, type GovernorKind, type ReplyStatus } from '../../machines/governor-protocol.ts';

type Log = Array<{ governor: string; type: string; eventId: string; at?: number }>;

/** A governor that answers `prepare` as its script says and records everything it is told. */
function fakeGovernor(kind: GovernorKind, log: Log, script: Partial<Record<GovernorKind, ReplyStatus | 'silent'>>) {
  const answer = script[kind] ?? 'applied';
  return setup({}).createMachine({
    id: kind,
    initial: 'ready',
    context: { version: 0 },
    states: {
      ready: {
        on: {
          prepare:
            answer === 'silent'
              ? { actions: ({ event }) => void log.push({ governor: kind, type: 'prepare', eventId: event.event.eventId }) }
              : {
                  actions: [
                    ({ event }) => void log.push({ governor: kind, type: 'prepare', eventId: event.event.eventId }),
                    reply(({ context }) => ({ governor: kind, status: answer, version: context.version, reason: answer === 'rejected' ? 'no' : undefined })),
                  ],
                },
          commit: {
            actions: [
              assign({ version: ({ context }) => context.version + 1 }),
              ({ event }) => void log.push({ governor: kind, type: 'commit', eventId: event.eventId }),
            ],
          },
          abort: { actions: ({ event }) => void log.push({ governor: kind, type: 'abort', eventId: event.eventId }) },
          append: { actions: ({ event }) => void log.push({ governor: kind, type: 'receipt', eventId: event.eventId, at: event.committedAt }) },
        },
      },
    },
  });
}

function world(script: Partial<Record<GovernorKind, ReplyStatus | 'silent'>> = {}) {
  const clock = new SimulatedClock(1_000_000);
  const node = createNode({ clock });
  const log: Log = [];
  const store = new MemoryStore();
  new EntityHost(
    node,
    [
      { kind: 'Orchestrator', machine: orchestratorMachine, recordKey: handledRecordKey },
      ...GOVERNORS.map((g) => ({ kind: g, machine: fakeGovernor(g, log, script) })),
      { kind: 'Receipts', machine: fakeGovernor('Receipts' as GovernorKind, log, {}) },
    ],
    // Committed after every step, records beside the states, as the embedded marketplace does.
    { restore: (a) => store.get(a)?.state, records: (a, key) => store.record(a, key), commit: (a, persist) => store.set(a, persist()) },
  );
  const submit = (event: Record<string, unknown>) =>
    node.call<Outcome>({ entity: 'Orchestrator', key: 'c1' }, { type: 'lifecycle', event, receivedAt: clock.now() }, { timeout: 60_000 });
  const record = (eventId: string) => store.record({ entity: 'Orchestrator', key: 'c1' }, eventId);
  return { node, clock, log, submit, store, record };
}

const subscribe = (eventId: string) => ({ eventId, customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z', type: 'CustomerSubscribes', sku: 'pro', tier: 'Professional' });

describe('orchestrator with governors on the memory transport', () => {
  it('prepares every routed governor in order, then commits all and appends a receipt', async () => {
    const { submit, log } = world();
    const outcome = await submit(subscribe('e1'));
    expect(outcome.status).toBe('completed');
    const route = ROUTES.CustomerSubscribes!;
    expect(log.filter((l) => l.type === 'prepare').map((l) => l.governor)).toEqual(route);
    expect(log.filter((l) => l.type === 'commit').map((l) => l.governor)).toEqual(route);
    expect(log.filter((l) => l.type === 'receipt')).toHaveLength(1);
    expect(log.some((l) => l.type === 'abort')).toBe(false);
  });

  it('a rejection aborts the prepared governors in reverse order (not the one that refused: it kept nothing) and commits none', async () => {
    const { submit, log } = world({ Subscription: 'rejected' });
    const outcome = await submit(subscribe('e1'));
    expect(outcome).toMatchObject({ status: 'rejected' });
    expect((outcome as { reason: string }).reason).toContain('Subscription rejected');
    expect(log.filter((l) => l.type === 'commit')).toEqual([]);
    expect(log.filter((l) => l.type === 'abort').map((l) => l.governor)).toEqual(['Billing', 'Entitlement']);
    expect(log.filter((l) => l.type === 'receipt')).toEqual([]);
  });

  it('reports a repeated eventId inside the window as a duplicate with its original outcome, and changes nothing', async () => {
    const { submit, log, clock } = world();
    await submit(subscribe('e1'));
    const before = log.length;
    expect(await submit(subscribe('e1'))).toEqual({ status: 'duplicate', eventId: 'e1', original: { status: 'completed', at: clock.now() } });
    expect(log.length).toBe(before);
  });

  it('refuses an eventId handled before with other content (IDEMPOTENCY_KEY_REUSED), records nothing, and takes a resend with another occurredAt as a duplicate', async () => {
    const { submit, log, node, clock, record } = world();
    await submit(subscribe('e1'));
    const before = log.length;
    const orchestrator = () => node.entities!.processOf({ entity: 'Orchestrator', key: 'c1' })!.getState().context as { reusedKeys?: number };
    const handled = record('e1');
    const reused = await submit({ ...subscribe('e1'), sku: 'enterprise' });
    expect(reused).toMatchObject({ status: 'rejected', eventId: 'e1', replies: [] });
    expect((reused as { reason: string }).reason).toMatch(/^IDEMPOTENCY_KEY_REUSED: eventId "e1" of customer "c1" was used before for an event with different content/);
    expect(log.length).toBe(before);
    expect(record('e1')).toEqual(handled);
    expect(orchestrator().reusedKeys).toBe(1);
    expect(await submit({ ...subscribe('e1'), occurredAt: '2026-01-02T00:00:00Z' })).toEqual({ status: 'duplicate', eventId: 'e1', original: { status: 'completed', at: clock.now() } });
  });

  it('records a rejection with its reason: a redelivery gets it again without asking any governor', async () => {
    const { submit, log, clock } = world({ Billing: 'rejected' });
    const first = await submit(subscribe('e1'));
    expect(first).toMatchObject({ status: 'rejected', reason: 'Billing rejected: no' });
    const before = log.length;
    clock.advance(60 * 60_000); // past the duplicate window
    expect(await submit(subscribe('e1'))).toEqual({ status: 'duplicate', eventId: 'e1', original: { status: 'rejected', reason: 'Billing rejected: no', at: clock.now() - 60 * 60_000 } });
    expect(log.length).toBe(before);
  });

  it('stamps the receipt and the record with the runtime clock at the commit', async () => {
    const { submit, node, clock, log, record, store } = world();
    clock.advance(1_234);
    await submit(subscribe('e1'));
    expect(log.filter((l) => l.type === 'receipt')).toEqual([{ governor: 'Receipts', type: 'receipt', eventId: 'e1', at: 1_001_234 }]);
    // The record is beside the state, committed with it; the state holds no list of events.
    expect(record('e1')).toEqual({ status: 'completed', at: 1_001_234, content: contentDigest(subscribe('e1') as never), seq: 0 });
    expect(node.entities!.processOf({ entity: 'Orchestrator', key: 'c1' })!.getState().context).not.toHaveProperty('handled');
    // Only the newest outcome (`last`, for readers of the state alone) names the event.
    const { last, ...rest } = (store.get({ entity: 'Orchestrator', key: 'c1' })!.state.snapshot as { context: Record<string, unknown> }).context;
    expect(last).toEqual({ eventId: 'e1', status: 'completed' });
    expect(JSON.stringify(rest)).not.toContain('e1');
  });

  it('a governor that never answers leads to the error path, not a hang', async () => {
    const { submit, log, clock } = world({ Billing: 'silent' });
    const pending = submit(subscribe('e1'));
    clock.advance(10_000);
    const outcome = await pending;
    expect(outcome.status).toBe('rejected');
    expect(log.filter((l) => l.type === 'abort').map((l) => l.governor)).toEqual(['Billing', 'Entitlement']);
  });

  it('processes one customer’s events strictly one after the other', async () => {
    const { submit, log } = world();
    const [a, b] = await Promise.all([submit(subscribe('e1')), submit({ ...subscribe('e2'), type: 'RenewalDue', subscriptionId: 's1' })]);
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    // Each governor hears all of e1 (prepare, commit) before anything of e2.
    for (const governor of ROUTES.RenewalDue!) {
      const seen = log.filter((l) => l.governor === governor && l.type !== 'receipt').map((l) => l.eventId);
      expect(seen.lastIndexOf('e1')).toBeLessThan(seen.indexOf('e2'));
    }
    const prepares = log.filter((l) => l.type === 'prepare').map((l) => l.eventId);
    expect(prepares.lastIndexOf('e1')).toBeLessThan(prepares.indexOf('e2'));
  });
});
