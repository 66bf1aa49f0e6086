/**
 * `npm run bench -- backpressure` (issue 8): a producer much faster than the fleet. 40,000
 * lifecycle events for 1,000 customers are written as fast as `addBulk` takes them into a private
 * Redis while two marketplace node processes work; the backlog grows in Redis, not in the nodes.
 * Sampled every 250 ms: the queue depth (waiting, delayed and active jobs over every partition
 * queue) and each node's resident memory (VmRSS from /proc). Then the fleet drains the backlog:
 * done when every event has its outcome record in its orchestrator's committed state.
 *
 * Last line: `events`, `enqueue_per_s`, `fleet_events_per_s`, `peak_depth`, `rss_start_mb`,
 * `peak_rss_mb` (the larger node), `drained`, `drain_s`. A bounded node is one whose peak RSS stays
 * near its start while the depth runs into the tens of thousands.
 */
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { readCommittedStates } from '../src/cli/check/bullmq-target.ts';
import { messageIdOf } from '../src/cli/enqueue/producer.ts';
import { RedisKeys } from '../src/store/redis-keys.ts';
import { GovernorProducer, type OutboundMessage } from '../src/transport/bullmq/index.ts';
import { startNodeProcess, type NodeProcess } from '../test/fault/node-process.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { round } from './stats.ts';

const CUSTOMERS = 1_000;
const ROUNDS = Number(process.env['BACKPRESSURE_ROUNDS'] ?? 40);
const PARTITIONS = 16;
const BATCH = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rssMb(node: NodeProcess): Promise<number> {
  const status = await readFile(`/proc/${node.child.pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export async function main(): Promise<Record<string, unknown>> {
  const redis = await startRedis({ mode: 'private' });
  const prefix = `${redis.prefix}:{bp}`;
  const keys = new RedisKeys(prefix);
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS) };
  const nodes = [await startNodeProcess('marketplace-node.ts', 'bp-1', env, 60_000), await startNodeProcess('marketplace-node.ts', 'bp-2', env, 60_000)];
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });
  const queues = Array.from({ length: PARTITIONS }, (_, p) => new Queue(keys.partitionQueue(String(p)), { connection: { host: redis.host, port: redis.port }, prefix }));
  const client = redis.client();
  try {
    await sleep(2_000); // both nodes own their share of the partitions
    const rssStart = Math.max(...(await Promise.all(nodes.map(rssMb))));
    let peakDepth = 0;
    let peakRss = rssStart;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = await Promise.all(queues.map((q) => q.getJobCounts('wait', 'delayed', 'active', 'prioritized')));
        peakDepth = Math.max(peakDepth, counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0));
        peakRss = Math.max(peakRss, ...(await Promise.all(nodes.map(rssMb))));
        await sleep(250);
      }
    })();

    const events = lifecycleRounds('bp', CUSTOMERS, 0, ROUNDS);
    const ids = new Set<string>();
    const startedAt = Date.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const batch: OutboundMessage[] = events.slice(i, i + BATCH).map((event) => {
        const id = ids.has(event.eventId) ? `${messageIdOf(event)}.retry` : messageIdOf(event);
        ids.add(event.eventId);
        return { to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt: Date.now() }, id };
      });
      await producer.sendMany(batch);
    }
    const enqueuedAt = Date.now();
    console.log(`backpressure: ${events.length} events enqueued in ${round((enqueuedAt - startedAt) / 1000, 1)} s`);

    // Drained: every event has its outcome record (read every 2 s, so the reading costs little).
    const customers = Array.from({ length: CUSTOMERS }, (_, c) => `customer-${c}`);
    const deadline = Date.now() + 600_000;
    let finished = 0;
    while (Date.now() < deadline) {
      finished = 0;
      for (let c = 0; c < customers.length; c += 100) {
        const states = await Promise.all(customers.slice(c, c + 100).map((id) => readCommittedStates(client, keys, id)));
        // The check's reader shows the orchestrator's records (beside its state) as `handled`.
        for (const s of states) finished += Object.keys((s.get('Orchestrator')?.context as { handled?: object } | undefined)?.handled ?? {}).length;
      }
      if (finished >= ids.size) break;
      console.log(`backpressure: ${finished} of ${ids.size} events finished, peak depth ${peakDepth}, peak RSS ${round(peakRss, 0)} MB`);
      await sleep(2_000);
    }
    const drainedAt = Date.now();
    sampling = false;
    await sampler;
    return {
      bench: 'backpressure',
      events: events.length,
      enqueue_per_s: round((events.length / (enqueuedAt - startedAt)) * 1000, 0),
      fleet_events_per_s: round((events.length / (drainedAt - startedAt)) * 1000, 0),
      peak_depth: peakDepth,
      rss_start_mb: round(rssStart, 0),
      peak_rss_mb: round(peakRss, 0),
      drained: finished >= ids.size,
      drain_s: round((drainedAt - enqueuedAt) / 1000, 1),
    };
  } finally {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    await Promise.all(queues.map((q) => q.close()));
    await producer.close();
    await redis.stop();
  }
}
