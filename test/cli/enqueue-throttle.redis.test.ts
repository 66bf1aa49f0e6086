import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startNodeProcess, type NodeProcess } from '../fault/node-process.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor } from './governor-command.ts';

// A Community tenant (10 events/s, burst 20) floods through the real `governor enqueue` while a
// marketplace node process runs: the door schedules what its rate allows, refuses the rest with
// exit 5, and the node processes the admitted events in order and hears of the flood.

let redis: RedisHandle;
let node: NodeProcess;
const prefix = () => `${redis.prefix}:{throttle}`;
const customer = `flooder-${Date.now().toString(36)}`;
const LIMIT_MS = 60_000;

beforeAll(async () => {
  redis = await startRedis();
  node = await startNodeProcess('marketplace-node.ts', 'throttle-node', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix() });
}, LIMIT_MS);
afterAll(async () => {
  await node?.kill('SIGTERM');
  await redis?.stop();
});

async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + LIMIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const usage = (i: number) =>
  JSON.stringify({ type: 'UsageRecorded', customerId: customer, eventId: `use-${i}`, occurredAt: '2026-12-01T00:00:00Z', metric: 'executions', quantity: 1, idempotencyKey: `use-${i}` });

/** A governor's committed state value for the customer. */
async function stateOf(kind: string): Promise<string | undefined> {
  const data = await redis.client().hget(new RedisKeys(prefix()).state({ entity: kind, key: customer }), 'd');
  return data ? (JSON.parse(data) as { snapshot: { value: string } }).snapshot.value : undefined;
}

describe('governor enqueue of a tenant over its tier’s rate', () => {
  it('enqueues what the rate allows (delayed, in order), refuses the rest with exit 5, and MultiTenant and QuotaSla act on the report', async () => {
    const target = ['--redis', redis.url, '--prefix', prefix()];
    const subscribed = governor(['enqueue', 'CustomerSubscribes', '--customer', customer, '--sku', 'COMMUNITY-MONTHLY', '--tier', 'community', '--wait', '20', ...target]);
    expect(subscribed.code, subscribed.stderr).toBe(0);

    // Burst 20 at once (the subscription took one), then 10/s for at most 10 s: 119 admitted of 140.
    const input = Array.from({ length: 140 }, (_, i) => usage(i)).join('\n');
    const run = governor(['enqueue', '--file', '-', ...target], { input });
    expect(run.code, run.stderr).toBe(5);
    const ids = run.stdout.trim().split('\n');
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => `use-${i}`));
    expect(ids.length).toBeGreaterThanOrEqual(115);
    expect(ids.length).toBeLessThan(125);
    expect(run.stderr).toMatch(/enqueued as delayed jobs, at their tenant's rate/);
    expect(run.stderr).toContain(`${140 - ids.length} throttled, nothing was enqueued for them`);
    expect(run.stderr).toMatch(new RegExp(`use-139: customer ${customer} is over the community tier's 10 events/s; retry after \\d+\\.\\d s`));
    // Each refused event is told its own wait: one slot (0.1 s at 10/s) after the one before it.
    const retryAfter = [...run.stderr.matchAll(/use-(\d+): .* retry after (\d+\.\d) s/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(retryAfter.map(([i]) => i)).toEqual(Array.from({ length: 140 - ids.length }, (_, j) => ids.length + j));
    retryAfter.forEach(([, s], j) => expect(s).toBeCloseTo(retryAfter[0]![1] + j * 0.1, 5));

    // Nothing of the refused is in Redis: the partition queue holds exactly the admitted and the report.
    const producer = await GovernorProducer.connect({ url: redis.url, prefix: prefix() });
    const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: customer }), { connection: redis.client(), prefix: prefix() });
    try {
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
      const mine = jobs.map((job) => (job.data as { env: { to: { key: string }; event: { event: { eventId: string } } } }).env).filter((env) => env.to.key === customer);
      const eventIds = new Set(mine.map((env) => env.event.event.eventId));
      for (let i = ids.length; i < 140; i++) expect(eventIds.has(`use-${i}`)).toBe(false);
    } finally {
      await queue.close();
      await producer.close();
    }

    // The node handles every admitted event, in the order sent.
    const handled = await eventually(async () => {
      // The orchestrator's records (beside its state), in the order it decided them.
      const records = await redis.client().hgetall(new RedisKeys(prefix()).records({ entity: 'Orchestrator', key: customer }));
      const list = Object.entries(records)
        .map(([eventId, text]) => ({ eventId, seq: (JSON.parse(text) as { seq: number }).seq }))
        .sort((a, b) => a.seq - b.seq)
        .map((r) => r.eventId);
      return list.includes(ids.at(-1)!) ? list : undefined;
    }, 'the last admitted event handled');
    const usages = handled.filter((id) => id.startsWith('use-'));
    expect(usages).toEqual(ids.slice(ids.length - usages.length));
    const report = handled.find((id) => id.startsWith('rate-'));
    expect(report, 'the throttle report reached the orchestrator').toBeDefined();
    // 140 attempts in a second at a limit of 10: a severe breach.
    expect(await stateOf('MultiTenant')).toBe('CascadePrevention');
    expect(await stateOf('QuotaSla')).toBe('Throttled');
  }, LIMIT_MS * 2);
});
