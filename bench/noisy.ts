/**
 * `npm run bench -- noisy` (issue 8, noisy neighbour): what one flooding tenant does to the others
 * on the BullMQ transport, two node processes, 1,000 customers. Two phases of `PHASE_SECONDS`:
 * quiet (the 999 other customers send lifecycle events at `OTHERS_PER_S` in all), then the same
 * plus one tenant sending `FLOOD_PER_S` usage events, ten times the nominal 20 events/s of a
 * Professional tenant. Latency is send-to-finish, per event, as in the lifecycle benchmark.
 *
 * Last line: the others' p99 quiet and flooded and their ratio (target ≤ 2), the same for the
 * customers whose partition the flooder shares, and how many of the flooder's events a second the
 * fleet finished. There is no per-tenant rate limit yet: these are the figures it must improve.
 */
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../src/marketplace/event-validation.ts';
import { hashKey } from '../src/transport/hash-key.ts';
import { GovernorProducer } from '../src/transport/bullmq/index.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { messages, startNode, Tracker, until, warmUp, type NodeProcess, type Send } from './lifecycle-fleet.ts';
import { percentile, round } from './stats.ts';

const CUSTOMERS = 1_000;
const PARTITIONS = 16;
const PHASE_SECONDS = Number(process.env['PHASE_SECONDS'] ?? 5);
const OTHERS_PER_S = 300;
const NOMINAL_PROFESSIONAL_PER_S = 20;
const FLOOD_PER_S = 10 * NOMINAL_PROFESSIONAL_PER_S;
const FLOODER = 'customer-0';

function floodEvents(count: number): LifecycleEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const checked = parseLifecycleEvent({
      eventId: `flood-${i}`,
      customerId: FLOODER,
      occurredAt: new Date(Date.UTC(2026, 0, 2) + i).toISOString(),
      type: 'UsageRecorded',
      metric: 'executions',
      quantity: 1,
      idempotencyKey: `flood-${i}`,
    });
    if (!checked.ok) throw new Error(`the flood's own event is invalid: ${JSON.stringify(checked.issues)}`);
    return checked.event;
  });
}

/** Sends, every 10 ms, the next events of each stream at its rate; resolves when all have finished. */
async function phase(streams: { events: readonly LifecycleEvent[]; perS: number }[], tracker: Tracker, send: Send): Promise<void> {
  const ticks = PHASE_SECONDS * 100;
  const total = streams.reduce((sum, s) => sum + Math.min(s.events.length, Math.round((s.perS / 100) * ticks)), 0);
  const done = tracker.next(total);
  const sent = streams.map(() => 0);
  for (let tick = 1; tick <= ticks; tick++) {
    const tickStart = Date.now();
    const batch = streams.flatMap((s, i) => {
      const upTo = Math.min(s.events.length, Math.round((s.perS / 100) * tick));
      const slice = s.events.slice(sent[i], upTo);
      sent[i] = upTo;
      return slice;
    });
    if (batch.length > 0) await send(messages(batch, tracker));
    const wait = tickStart + 10 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
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
    const send: Send = (batch) => producer.sendMany(batch);
    await warmUp('noisy', CUSTOMERS, tracker, send);

    const others = lifecycleRounds('noisy', CUSTOMERS, 1, 8).filter((e) => e.customerId !== FLOODER);
    const perPhase = OTHERS_PER_S * PHASE_SECONDS;
    const floodPartition = hashKey(FLOODER) % PARTITIONS;
    const neighbours = new Set(Array.from({ length: CUSTOMERS }, (_, c) => `customer-${c}`).filter((c) => c !== FLOODER && hashKey(c) % PARTITIONS === floodPartition));
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
    const floodStart = Date.now();
    await phase([{ events: others.slice(perPhase, 2 * perPhase), perS: OTHERS_PER_S }, { events: floodEvents(FLOOD_PER_S * PHASE_SECONDS), perS: FLOOD_PER_S }], tracker, send);
    const flooded = split();
    const floodSeconds = (tracker.last - floodStart) / 1000;
    console.log(`noisy: others p99 ${round(p99(quiet.all))} ms quiet, ${round(p99(flooded.all))} ms flooded; the flooder's ${neighbours.size} partition neighbours ${round(p99(quiet.near))} → ${round(p99(flooded.near))} ms`);
    return {
      bench: 'noisy',
      others_p99_quiet_ms: round(p99(quiet.all), 1),
      others_p99_flood_ms: round(p99(flooded.all), 1),
      others_ratio: round(p99(flooded.all) / p99(quiet.all), 2),
      neighbours_p99_quiet_ms: round(p99(quiet.near), 1),
      neighbours_p99_flood_ms: round(p99(flooded.near), 1),
      neighbours_ratio: round(p99(flooded.near) / p99(quiet.near), 2),
      flooder_sent_per_s: FLOOD_PER_S,
      flooder_finished_per_s: round(flooded.flooder.length / floodSeconds, 0),
      flooder_p99_ms: round(p99(flooded.flooder), 1),
      throttled: 0,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await producer.close();
    await redis.stop();
  }
}
