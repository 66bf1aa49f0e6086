/**
 * Raw lifecycle jobs against a real marketplace node process (issue 14, findings 2 and 6): a job
 * reusing a handled eventId for other content is dead-lettered with IDEMPOTENCY_KEY_REUSED; an
 * exact raw duplicate is skipped, counted and logged, not dead-lettered; a 10 MB job and a
 * 100,000-deep one are dead-lettered before parsing (no RangeError); years 0001 / 9999, an
 * occurredAt a day ahead and a quantity of 1e308 are refused at the node and at the door.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleMessage } from '../../src/cli/enqueue/producer.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { listDeadLetters, type DeadLetter } from '../../src/transport/bullmq/dead-letters.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { governor } from '../cli/governor-command.ts';
import { startNodeProcess, type NodeProcess } from '../fault/node-process.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let client: Redis;
let node: NodeProcess;
let producer: GovernorProducer;
let keys: RedisKeys;
const prefix = () => `${redis.prefix}:{raw}`;
const queues: Queue[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  keys = new RedisKeys(prefix());
  node = await startNodeProcess('marketplace-node.ts', 'raw-node', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix() });
  producer = await GovernorProducer.connect({ url: redis.url, prefix: prefix() });
});
afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  await producer?.close();
  await node?.kill('SIGTERM');
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds (the node works in its own process); fails with `what` after 20 s. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await read();
    if (done(value)) return value;
    await sleep(50);
  }
  throw new Error(`${what} did not happen:\n${node.log()}`);
}

function queueOf(customerId: string): Queue {
  const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: customerId }), { connection: redis.client(), prefix: prefix() });
  queues.push(queue);
  return queue;
}

/** Job data of a lifecycle event, as the README's job format says. */
const jobData = (event: Record<string, unknown>, id = messageIdOf(event as unknown as LifecycleEvent)) => ({
  v: 1,
  id,
  env: { t: 'cast', to: { entity: 'Orchestrator', key: event['customerId'] }, event: { type: 'lifecycle', event, receivedAt: Date.now() } },
});

const deadLetters = async (): Promise<DeadLetter[]> => {
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix: prefix() });
  try {
    return await listDeadLetters(dlq);
  } finally {
    await dlq.close();
  }
};
const letterOf = async (jobId: string) => (await until(deadLetters, (all) => all.some((l) => l.jobId === jobId), `the dead letter of ${jobId}`)).find((l) => l.jobId === jobId)!;

const stateOf = (customerId: string) => client.hget(keys.state({ entity: 'Orchestrator', key: customerId }), 'd');

/** Writes a job whose stored `data` is `text` exactly (what no BullMQ producer could serialize): added delayed, rewritten, promoted. */
async function addRaw(queue: Queue, jobId: string, text: string): Promise<void> {
  const job = await queue.add('CustomerCancels', { v: 1 }, { jobId, delay: 3_600_000 });
  await client.hset(queue.toKey(jobId), 'data', text);
  await job.promote();
}

describe('raw jobs reusing a handled eventId', () => {
  const c = 'c-reuse';
  const usage = { type: 'UsageRecorded', customerId: c, eventId: 'dup-1', occurredAt: '2025-06-01T00:00:00Z', metric: 'executions', quantity: 5, idempotencyKey: 'u-1' };

  beforeAll(async () => {
    await producer.sendMany([lifecycleMessage(usage as LifecycleEvent, Date.now())]);
    await until(() => stateOf(c), (d) => d?.includes('"dup-1"') === true, 'the record of dup-1');
  });

  it('other content under the same message id is dead-lettered with IDEMPOTENCY_KEY_REUSED; nothing changes', async () => {
    const before = await stateOf(c);
    await queueOf(c).add('UsageRecorded', jobData({ ...usage, quantity: 500_000 }), { jobId: 'raw-reuse-1' });
    await queueOf(c).add('CustomerCancels', jobData({ type: 'CustomerCancels', customerId: c, eventId: 'dup-1', occurredAt: '2025-06-01T00:00:00Z' }), { jobId: 'raw-reuse-2' });
    for (const jobId of ['raw-reuse-1', 'raw-reuse-2']) {
      expect((await letterOf(jobId)).reason).toMatch(/^invalid message to Orchestrator\/c-reuse: IDEMPOTENCY_KEY_REUSED: eventId "dup-1" of customer "c-reuse" was used before for an event with different content/);
    }
    expect(await stateOf(c)).toBe(before);
  });

  it('an exact duplicate under a new job id is skipped and logged with its job id, not dead-lettered; nothing changes', async () => {
    const before = await stateOf(c);
    await queueOf(c).add('UsageRecorded', jobData({ ...usage, occurredAt: '2025-06-01T00:09:00Z' }), { jobId: 'raw-dup-1' });
    await until(async () => node.log(), (log) => log.includes('raw-dup-1'), 'the log line of raw-dup-1');
    expect(node.log()).toMatch(/"jobId":"raw-dup-1".*skipped a job whose message id was handled before/);
    expect((await deadLetters()).map((l) => l.jobId)).not.toContain('raw-dup-1');
    expect(await stateOf(c)).toBe(before);
  });
});

describe('limits the node enforces on raw jobs', () => {
  it('a 10 MB job and a 100,000-deep one are dead-lettered before parsing, without a RangeError, and the job behind them is handled', async () => {
    const c = 'c-limits';
    const queue = queueOf(c);
    const huge = JSON.stringify(jobData({ type: 'PaymentFailed', customerId: c, eventId: 'huge-1', occurredAt: '2025-06-01T00:00:00Z', paymentId: 'p-1', reason: 'x'.repeat(10_000_000) }));
    await addRaw(queue, 'raw-huge', huge);
    await addRaw(queue, 'raw-deep', `{"v":1,"env":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    await queue.add('CustomerSubscribes', jobData({ type: 'CustomerSubscribes', customerId: c, eventId: 'after-1', occurredAt: '2025-06-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'professional' }), { jobId: 'after-1' });

    const hugeLetter = await letterOf('raw-huge');
    expect(hugeLetter.reason).toMatch(/^invalid job: data is 100\d{5} bytes of JSON; the limit is 1048576 \(refused before parsing/);
    expect(String(hugeLetter.data).length).toBeLessThanOrEqual(1_025);
    const deepLetter = await letterOf('raw-deep');
    expect(deepLetter.reason).toMatch(/^invalid job: data is nested deeper than 64 levels \(refused before parsing/);
    await until(() => stateOf(c), (d) => d?.includes('"after-1"') === true, 'the event behind them');
    expect(node.log()).not.toMatch(/RangeError|Maximum call stack/);
    expect(await stateOf('c-limits')).not.toContain('xxxxxxxxxx');
  });

  const implausible: [string, Record<string, unknown>, RegExp][] = [
    ['year-0001', { occurredAt: '0001-01-01T00:00:00Z' }, /\$\.event\.occurredAt: must be in the years 2000 to 2999/],
    ['year-9999', { occurredAt: '9999-12-31T23:59:59Z' }, /\$\.event\.occurredAt: must be in the years 2000 to 2999/],
    ['a-day-ahead', { occurredAt: new Date(Date.now() + 86_400_000).toISOString() }, /\$\.event\.occurredAt: must not be more than 60 minutes ahead/],
    ['quantity-1e308', { quantity: 1e308 }, /\$\.event\.quantity/],
  ];

  it.each(implausible)('%s is dead-lettered by the node and refused by governor enqueue (exit 2)', async (name, change, reason) => {
    const c = `c-${name}`;
    const event = { type: 'UsageRecorded', customerId: c, eventId: `e-${name}`, occurredAt: '2025-06-01T00:00:00Z', metric: 'executions', quantity: 5, idempotencyKey: 'u-1', ...change };
    await queueOf(c).add('UsageRecorded', jobData(event), { jobId: `raw-${name}` });
    expect((await letterOf(`raw-${name}`)).reason).toMatch(reason);
    expect(await stateOf(c)).toBeNull();

    const door = governor(['enqueue', '--json', JSON.stringify({ ...event, eventId: `door-${name}` }), '--redis', redis.url, '--prefix', prefix()]);
    expect(door.code, door.stdout).toBe(2);
    expect(door.stderr).toMatch(name === 'quantity-1e308' ? /\$\.quantity/ : /\$\.occurredAt/);
  });
});
