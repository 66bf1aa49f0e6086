/**
 * The cluster benchmark (issue 15): the lifecycle workload (`lifecycle.ts`, sharded placement:
 * 1,000 customers, every event type, two node processes, 16 partitions) on a real local Redis
 * Cluster of three masters (`test/support/redis-cluster.ts`), nodes and producer given it as
 * `redis+cluster://…`.
 *
 * Figures: events/s over the timed rounds (from the first send to the last event finished by its
 * orchestrator), and each master's share of the Redis CPU spent meanwhile (`used_cpu_user +
 * used_cpu_sys` before and after, per master: see `redis-cpu.ts`). The goal is that no master
 * carries more than 1.5 times an even share, which is what spreading the partitions' hash tags
 * over the slots is for: with one tag for everything, one master would carry it all (share 3.0).
 *
 * `BENCH_ROUNDS` (default 8). `BENCH_CLUSTER_PREFIX='{governor}'` runs it with a hash tag in the
 * prefix, which puts every key in one slot as the key layout before Redis Cluster support did:
 * the figure to compare with.
 */
import { GovernorProducer } from '../src/transport/bullmq/index.ts';
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';
import { startRedisCluster, type RedisClusterHandle } from '../test/support/redis-cluster.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { messages, startNode, Tracker, until, warmUp, type NodeProcess, type Send } from './lifecycle-fleet.ts';
import { round } from './stats.ts';

const PARTITIONS = 16;
const CUSTOMERS = 1_000;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const NODES = 2;
const BATCH = 1_000;
const GOAL = 1.5;

/** Each master's CPU so far (µs), in the order of their slot ranges. */
async function masterCpuMicros(cluster: RedisClusterHandle): Promise<number[]> {
  return Promise.all(
    cluster.masters.map(async (_, i) => {
      const info = (await cluster.master(i).info('cpu')) as string;
      const seconds = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
      return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
    }),
  );
}

async function timed(events: readonly LifecycleEvent[], tracker: Tracker, send: Send): Promise<number> {
  const done = tracker.next(events.length);
  const start = Date.now();
  for (let i = 0; i < events.length; i += BATCH) await send(messages(events.slice(i, i + BATCH), tracker));
  await done;
  return (events.length / (tracker.last - start)) * 1000;
}

export async function main(): Promise<Record<string, unknown>> {
  const cluster = await startRedisCluster();
  const prefix = process.env['BENCH_CLUSTER_PREFIX'] ?? cluster.prefix;
  const tracker = new Tracker();
  const nodes: NodeProcess[] = [];
  const progress = setInterval(() => console.error(`cluster: ${tracker.finished} of ${tracker.target} events of this phase finished`), 10_000);
  progress.unref();
  const producer = await GovernorProducer.connect({ url: cluster.url, prefix, partitions: PARTITIONS, placement: 'sharded' });
  try {
    const env = { REDIS_URL: cluster.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), PLACEMENT: 'sharded', ROLE: 'governor' };
    for (let i = 0; i < NODES; i++) nodes.push(await startNode({ ...env, NODE_NAME: `cluster-${i}` }, tracker));
    await until(() => nodes.every((n) => n.owned === PARTITIONS / NODES), `both nodes owning their fair share of ${PARTITIONS} partitions`);
    const send: Send = (batch) => producer.sendMany(batch);
    await warmUp('cluster', CUSTOMERS, tracker, send);
    const events = lifecycleRounds('cluster', CUSTOMERS, 1, ROUNDS);
    const before = await masterCpuMicros(cluster);
    const eventsPerS = await timed(events, tracker, send);
    const after = await masterCpuMicros(cluster);
    const spent = after.map((cpu, i) => cpu - before[i]!);
    const total = spent.reduce((a, b) => a + b, 0);
    const shares = spent.map((cpu) => cpu / total);
    const worst = Math.max(...shares) * shares.length;
    console.log(
      `cluster: ${round(eventsPerS, 0)} events/s on ${shares.length} masters; Redis CPU ${round(total / events.length, 0)} µs per event, ` +
        `shares ${shares.map((s) => `${round(s * 100, 1)}%`).join(' / ')} (busiest ${round(worst, 2)}x an even share; goal ≤ ${GOAL}x)`,
    );
    return {
      bench: 'cluster',
      prefix,
      events_per_s: round(eventsPerS, 0),
      masters: shares.length,
      shard_cpu_share: shares.map((s) => round(s, 3)),
      busiest_vs_even: round(worst, 2),
      goal_met: worst <= GOAL,
      redis_cpu_us_per_event: round(total / events.length, 0),
      nodes: NODES,
      partitions: PARTITIONS,
      events: events.length,
      timeouts: tracker.timeouts,
    };
  } finally {
    clearInterval(progress);
    await Promise.all(nodes.map((n) => n.stop()));
    await producer.close();
    await cluster.stop();
  }
}
