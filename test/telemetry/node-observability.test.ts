import { describe, expect, it } from 'vitest';
import { SimulatedClock, createNode } from '../../src/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { entityOfProcessName } from '../../src/runtime/entity.ts';
import {
  MemorySink,
  TelemetryCollector,
  createMetrics,
  formatTelemetrySummary,
  observeLifecycle,
  summariseTelemetryStream,
  trackNode,
} from '../../src/observability/index.ts';

// The observability of a running marketplace, on the memory transport with a simulated clock:
// the lifecycle observer (metrics and product telemetry from the orchestrators' states) and the
// node tracker (message and restart totals), wired as `governor start` wires them.

const START = Date.parse('2026-01-05T10:00:00Z');
const SECRET = 'observability-test-secret-0123456789';

function market() {
  const clock = new SimulatedClock(START);
  const node = createNode({ clock });
  const tracker = trackNode(node);
  const metrics = createMetrics({ processMetrics: false, sample: () => tracker.sample() });
  const sink = new MemorySink();
  const collector = new TelemetryCollector({ secret: SECRET, sink, errorReporting: true, now: () => clock.now() });
  const observer = observeLifecycle({ metrics, collector, now: () => clock.now() });
  node.onExit((_pid, _reason, process) => {
    const address = process.name === undefined ? undefined : entityOfProcessName(process.name);
    if (address) observer.stopped(address);
  });
  const app = startMarketplace(node, { pseudonymKey: 'observability-test-key-0123456789', entities: { observe: observer } });
  let serial = 0;
  const submit = (customerId: string, type: string, fields: Record<string, unknown> = {}, eventId = `evt-${++serial}`) =>
    app.submit({ eventId, customerId, occurredAt: new Date(clock.now()).toISOString(), type, ...fields } as LifecycleEvent);
  return { clock, node, app, metrics, sink, collector, observer, submit };
}

async function series(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, expected]) => found[key] === expected)) return Number(match[3]);
  }
  return undefined;
}

describe('lifecycle observer', () => {
  it('reports each event once: latency by type and outcome, duplicates, compensations', async () => {
    const { metrics, submit } = market();
    expect((await submit('c1', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }, 'sub-1')).status).toBe('completed');
    expect((await submit('c2', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' })).status).toBe('completed');
    expect((await submit('c1', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }, 'sub-1')).status).toBe('duplicate');
    expect((await submit('c1', 'CustomerUpgrades', { fromSku: 'NOPE', toSku: 'ENT-YEARLY' })).status).toBe('rejected');

    expect(await series(metrics, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerSubscribes', outcome: 'completed' })).toBe(2);
    expect(await series(metrics, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerUpgrades', outcome: 'rejected' })).toBe(1);
    expect(await series(metrics, 'governor_lifecycle_duplicates_total', { type: 'CustomerSubscribes' })).toBe(1);
    expect(await series(metrics, 'governor_lifecycle_duplicates_total', { type: 'unknown' })).toBeUndefined();
    const compensations = (await metrics.compensations.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(compensations).toBeGreaterThan(0);
  });

  it('counts a conflict between replies by its resolution, as the orchestrator records it with both sides', async () => {
    const { clock, metrics, submit } = market();
    // A suspension opens an audit; past its 30-day deadline Compliance holds, and a subscription
    // that Entitlement would activate meets the declared manual-override rule.
    expect((await submit('held', 'ManualSuspension', { reason: 'fraud review', actor: 'ops' })).status).toBe('completed');
    await clock.advance(31 * 86_400_000);
    const outcome = await submit('held', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'conflict: compliance-hold (manual-override)' });
    expect(await series(metrics, 'governor_conflicts_total', { resolution: 'manual-override' })).toBe(1);
    expect(await series(metrics, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerSubscribes', outcome: 'rejected' })).toBe(1);
  });

  it('feeds the collector one start, one end and one adoption per event, and an error for a rejection', async () => {
    const { submit, collector, sink } = market();
    await submit('acme-corp', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    await submit('acme-corp', 'CustomerUpgrades', { fromSku: 'NOPE', toSku: 'ENT-YEARLY' });
    await collector.flush();
    const events = sink.events;
    const count = (type: string, feature: string) => events.filter((e) => e.type === type && e.feature === feature).length;
    expect(count('execution_start', 'CustomerSubscribes')).toBe(1);
    expect(count('execution_end', 'CustomerSubscribes')).toBe(1);
    expect(count('feature_adoption', 'CustomerSubscribes')).toBe(1);
    expect(count('execution_end', 'CustomerUpgrades')).toBe(1);
    expect(count('error', 'CustomerUpgrades')).toBe(1);
    // The tier from the subscription is remembered for the customer's later events.
    expect(events.every((e) => e.tier === 'professional')).toBe(true);
    expect(JSON.stringify(sink.batches)).not.toContain('acme-corp');
    expect(new Set(events.map((e) => e.organisation)).size).toBe(1);
    expect(collector.summary().outcomes['CustomerSubscribes']).toEqual({ succeeded: 1, failed: 0, errors: 0 });
  });

  it('does not count again the history of an orchestrator restored from its committed state', async () => {
    const { submit, metrics, app, node, observer } = market();
    await submit('c1', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    app.persist('c1');
    // Passivated: it leaves memory; its next event restores it with processed = 1.
    app.host().passivate({ entity: 'Orchestrator', key: 'c1' });
    await node.settle();
    expect(observer.size).toBe(0);
    await submit('c1', 'PaymentProcessed', { amount: '99.00', currency: 'USD', paymentId: 'pay-1' });
    expect(await series(metrics, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerSubscribes', outcome: 'completed' })).toBe(1);
    expect(await series(metrics, 'governor_lifecycle_event_duration_seconds_count', { type: 'PaymentProcessed' })).toBe(1);
  });
});

describe('node tracker', () => {
  it('totals messages by kind across passivations, and restarts by supervisor', async () => {
    const { submit, metrics, node, app } = market();
    await submit('c1', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    const before = await series(metrics, 'governor_messages_received_total', { kind: 'orchestrator' });
    expect(before).toBeGreaterThan(0);
    app.persist('c1');
    app.host().passivate({ entity: 'Orchestrator', key: 'c1' });
    await node.settle();
    // The passivated actor's messages still count.
    expect(await series(metrics, 'governor_messages_received_total', { kind: 'orchestrator' })).toBe(before);
    expect(await series(metrics, 'governor_messages_sent_total', { kind: 'orchestrator' })).toBeGreaterThan(0);

    const billing = node.whereis('entity:Billing/c1')!;
    node.exit(billing, 'boom');
    await node.settle();
    expect(await series(metrics, 'governor_supervisor_restarts_total', { supervisor: 'entities:Billing' })).toBe(1);
    expect(await series(metrics, 'governor_actors_alive', { kind: 'supervisor' })).toBeGreaterThan(0);
  });
});

describe('stream summary', () => {
  it('rebuilds latency percentiles, outcomes and adoption from the events a stream holds', async () => {
    const { submit, collector, sink } = market();
    await submit('a', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    await submit('b', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    await collector.flush();
    const nodes = { 'node-1': { ...collector.summary(), health: { redis: { samples: 1, availability: 1, meanResponseMs: 1, p95ResponseMs: 1, lastAt: START, lastAvailable: true } } } };
    const summary = summariseTelemetryStream(sink.events, { sink: 'test', nodes, now: () => START });
    expect(summary.events.recorded).toBe(sink.events.length);
    expect(summary.latency['CustomerSubscribes']!.count).toBe(2);
    expect(summary.outcomes['CustomerSubscribes']).toEqual({ succeeded: 2, failed: 0, errors: 0 });
    expect(summary.adoption['professional']!.organisations).toBe(2);
    expect(summary.adoption['professional']!.features['CustomerSubscribes']!.organisations).toBe(2);
    expect(Object.keys(summary.health)).toEqual(['node-1/redis']);
    expect(formatTelemetrySummary(summary)).toMatch(/CustomerSubscribes\s+2 /);
  });
});
