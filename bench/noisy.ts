/**
 * `npm run bench -- noisy` (issue 8, noisy neighbour): what one flooding tenant does to the others
 * on the BullMQ transport, two node processes, 1,000 Professional customers and one Community
 * tenant (10 events/s). Two phases of `PHASE_SECONDS`: quiet (the 1,000 send lifecycle events at
 * `OTHERS_PER_S` in all), then the same plus the Community tenant sending usage events at ten
 * times its tier's rate. Every event goes through the door `governor enqueue` uses
 * (`TenantThrottle`: the tenant's rate in Redis, over it delayed, past a 10 s backlog refused).
 * Latency is send-to-finish, per event, as in the lifecycle benchmark; the flood phase waits for
 * the flooder's delayed events too.
 *
 * Last line: the others' p99 quiet and flooded and their ratio (target ≤ 2), the same for the
 * customers whose partition the flooder shares, the flooder's events sent, admitted and refused
 * per second, and the state MultiTenant put the flooder in.
 */
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../src/marketplace/event-validation.ts';
import { rateOf, TenantThrottle } from '../src/cli/enqueue/throttle.ts';
import { hashKey } from '../src/store/hash-key.ts';
import { GovernorProducer } from '../src/transport/bullmq/index.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { messages, startNode, Tracker, until, warmUp, type NodeProcess } from './lifecycle-fleet.ts';
import { percentile, round } from './stats.ts';

const CUSTOMERS = 1_000;
const PARTITIONS = 16;
const PHASE_SECONDS = Number(process.env['PHASE_SECONDS'] ?? 5);
const OTHERS_PER_S = 300;
const FLOODER = 'flooder-0';
const FLOOD_PER_S = 10 * rateOf('community')!.perSecond;

function checked(event: Record<string, unknown>): LifecycleEvent {
  const result = parseLifecycleEvent(event);
  if (!result.ok) throw new Error(`the bench's own event is invalid: ${JSON.stringify(result.issues)}`);
  return result.event;
}

function floodEvents(count: number): LifecycleEvent[] {
  return Array.from({ length: count }, (_, i) =>
    checked({
      eventId: `flood-${i}`,
      customerId: FLOODER,
      occurredAt: new Date(Date.UTC(2026, 0, 2) + i).toISOString(),
      type: 'UsageRecorded',
      metric: 'executions',
      quantity: 1,
      idempotencyKey: `flood-${i}`,
    }),
  );
}

/** What the door let through and held back, over the run. */
interface DoorCounts {
  admitted: number;
  delayed: number;
  refused: number;
  reports: number;
}

/** Events through the door: the reports first, then the admitted ones at their slots; resolves with how many were sent. */
type Door = (events: readonly LifecycleEvent[]) => Promise<number>;

function door(throttle: TenantThrottle, producer: GovernorProducer, tracker: Tracker, counts: DoorCounts): Door {
  return async (events) => {
    const admission = await throttle.admit(events);
    const sent = [...admission.reports.map((event) => ({ event, delayMs: 0 })), ...admission.admitted];
    counts.admitted += admission.admitted.length;
    counts.delayed += admission.admitted.filter((a) => a.delayMs > 0).length;
    counts.refused += admission.refused.length;
    counts.reports += admission.reports.length;
    await producer.sendMany(messages(sent.map((a) => a.event), tracker).map((message, i) => ({ ...message, delayMs: sent[i]!.delayMs })));
    return sent.length;
  };
}

/** Sends, every 10 ms, the next events of each stream at its rate through the door; resolves when all it let through have finished. */
async function phase(streams: { events: readonly LifecycleEvent[]; perS: number }[], tracker: Tracker, send: Door): Promise<void> {
  const ticks = PHASE_SECONDS * 100;
  const done = tracker.next(Infinity);
  const sent = streams.map(() => 0);
  let through = 0;
  for (let tick = 1; tick <= ticks; tick++) {
    const tickStart = Date.now();
    const batch = streams.flatMap((s, i) => {
      const upTo = Math.min(s.events.length, Math.round((s.perS / 100) * tick));
      const slice = s.events.slice(sent[i], upTo);
      sent[i] = upTo;
      return slice;
    });
    if (batch.length > 0) through += await send(batch);
    const wait = tickStart + 10 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  tracker.settle(through);
  await done;
}

const p99 = (values: number[]) => percentile([...values].sort((a, b) => a - b), 99);

export async function main(): Promise<Record<string, unknown>> {
  const redis = await startRedis({ mode: 'private' });
  const prefix = `${redis.prefix}:{noisy}`;
  const tracker = new Tracker();
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), PLACEMENT: 'sharded', ROLE: 'governor' };
  const nodes: NodeProcess[] = [];
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });
  try {
    for (let i = 0; i < 2; i++) nodes.push(await startNode({ ...env, NODE_NAME: `noisy-${i}` }, tracker));
    await until(() => nodes.every((n) => n.owned === PARTITIONS / 2), 'both nodes owning half the partitions');
    await warmUp('noisy', CUSTOMERS, tracker, (batch) => producer.sendMany(batch));
    const counts: DoorCounts = { admitted: 0, delayed: 0, refused: 0, reports: 0 };
    const send = door(new TenantThrottle(producer.connection, producer.keys), producer, tracker, counts);
    const subscribed = tracker.next(1);
    await send([checked({ type: 'CustomerSubscribes', eventId: 'flooder-sub', customerId: FLOODER, occurredAt: '2026-01-01T00:00:00Z', sku: 'COMMUNITY-MONTHLY', tier: 'community' })]);
    await subscribed;

    const others = lifecycleRounds('noisy', CUSTOMERS, 1, 8);
    const perPhase = OTHERS_PER_S * PHASE_SECONDS;
    const floodPartition = hashKey(FLOODER) % PARTITIONS;
    const neighbours = new Set(Array.from({ length: CUSTOMERS }, (_, c) => `customer-${c}`).filter((c) => hashKey(c) % PARTITIONS === floodPartition));
    const split = () => {
      const all: number[] = [];
      const near: number[] = [];
      for (const [customer, latencies] of tracker.byCustomer) {
        if (customer === FLOODER) continue;
        all.push(...latencies);
        if (neighbours.has(customer)) near.push(...latencies);
      }
      return { all, near, flooder: tracker.byCustomer.get(FLOODER) ?? [] };
    };

    await phase([{ events: others.slice(0, perPhase), perS: OTHERS_PER_S }], tracker, send);
    const quiet = split();
    const before = { ...counts };
    const floodStart = Date.now();
    const flood = floodEvents(FLOOD_PER_S * PHASE_SECONDS);
    await phase([{ events: others.slice(perPhase, 2 * perPhase), perS: OTHERS_PER_S }, { events: flood, perS: FLOOD_PER_S }], tracker, send);
    const flooded = split();
    const floodSeconds = (tracker.last - floodStart) / 1000;
    const stored = await redis.client().hget(producer.keys.state({ entity: 'MultiTenant', key: FLOODER }), 'd');
    const tenantState = stored ? (JSON.parse(stored) as { snapshot: { value: string } }).snapshot.value : 'none';
    console.log(`noisy: others p99 ${round(p99(quiet.all))} ms quiet, ${round(p99(flooded.all))} ms flooded; the flooder's ${neighbours.size} partition neighbours ${round(p99(quiet.near))} → ${round(p99(flooded.near))} ms`);
    return {
      bench: 'noisy',
      others_p99_quiet_ms: round(p99(quiet.all), 1),
      others_p99_flood_ms: round(p99(flooded.all), 1),
      others_ratio: round(p99(flooded.all) / p99(quiet.all), 2),
      neighbours_p99_quiet_ms: round(p99(quiet.near), 1),
      neighbours_p99_flood_ms: round(p99(flooded.near), 1),
      neighbours_ratio: round(p99(flooded.near) / p99(quiet.near), 2),
      flooder_tier: 'community',
      flooder_sent_per_s: FLOOD_PER_S,
      flooder_finished: flooded.flooder.length,
      flooder_delayed: counts.delayed - before.delayed,
      throttled: counts.refused - before.refused,
      flooder_finished_per_s: round(flooded.flooder.length / floodSeconds, 1),
      flooder_p99_ms: round(p99(flooded.flooder), 1),
      reports: counts.reports,
      multitenant_state: tenantState,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await producer.close();
    await redis.stop();
  }
}
