/**
 * `node --expose-gc --import tsx bench/bullmq-memory.ts`: what one resident customer costs in heap
 * on one BullMQ node (the marketplace kinds, a private Redis), right after its event: `FLEET_CUSTOMERS`
 * customers (default 1,000) subscribe, one `CustomerSubscribes` each, and the heap after full
 * collections is weighed once every event is committed, then again with every entity passivated
 * (their process and cached committed state gone); the difference over N is
 * `per_resident_customer_bytes`. `AFTER_COMMIT=0` runs the node without `hibernation.afterCommit`
 * (the sweep is an hour away in both runs, so only the commit can hibernate anything).
 */
import { pino } from 'pino';
import { marketplaceKinds } from '../machines/index.ts';
import { GovernorProducer, startBullmqNode } from '../src/transport/bullmq/index.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { messages, Tracker } from './lifecycle-fleet.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { round } from './stats.ts';

const CUSTOMERS = Number(process.env['FLEET_CUSTOMERS'] ?? 1_000);
const AFTER_COMMIT = process.env['AFTER_COMMIT'] !== '0';
const PARTITIONS = 4;

function heap(): number {
  const gc = globalThis.gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const redis = await startRedis();
const prefix = `${redis.prefix}:{mem}`;
const node = await startBullmqNode({
  url: redis.url,
  prefix,
  name: 'mem',
  partitions: PARTITIONS,
  kinds: marketplaceKinds({ pseudonymKey: 'bullmq-memory-benchmark-key-0123' }),
  entityHost: { hibernation: { afterCommit: AFTER_COMMIT, afterMs: 3_600_000 } },
  logger: pino({ level: 'warn' }),
});
const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });

/** Sends one subscription per customer of `run` and waits until every orchestrator has committed it. */
async function subscribe(run: string, customers: number): Promise<void> {
  // Customers of their own per run (lifecycleRounds numbers them from 0 in every run).
  const events = lifecycleRounds(run, customers, 0, 1).map((event) => ({ ...event, customerId: `${run}-${event.customerId}` }));
  await producer.sendMany(messages(events, new Tracker()));
  let waiting = events.map((event) => ({ entity: 'Orchestrator', key: event.customerId }));
  while (waiting.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const states = await node.transport.store.loadMany(waiting);
    waiting = waiting.filter((_, i) => {
      const stats = (states[i]?.state.snapshot as { context?: { stats?: { processed: number } } } | undefined)?.context?.stats;
      return (stats?.processed ?? 0) < 1;
    });
  }
  // The last replies' commits (governors after the orchestrator) settle.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

async function passivateEveryone(): Promise<void> {
  for (const name of node.node.registered()) {
    const match = /^entity:([^/]+)\/(.+)$/s.exec(name);
    if (match) await node.transport.passivate({ entity: match[1]!, key: match[2]! });
  }
}

await subscribe('warm', 20);
await passivateEveryone();
const resident = () => node.node.registered().filter((name) => name.startsWith('entity:')).length;
await subscribe('fleet', CUSTOMERS);
const withCustomers = heap();
const actors = resident();
const hibernated = node.entities.hibernatedCount();
await passivateEveryone();
const passivated = heap();
console.log(
  JSON.stringify({
    customers: CUSTOMERS,
    after_commit: AFTER_COMMIT,
    resident_actors: actors,
    hibernated_actors: hibernated,
    per_resident_customer_bytes: round((withCustomers - passivated) / CUSTOMERS),
  }),
);
await producer.close();
await node.stop({ timeoutMs: 1_000 });
await redis.stop();
