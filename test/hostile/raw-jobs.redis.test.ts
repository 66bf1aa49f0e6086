/**
 * Hostile raw jobs in a partition queue, written with a plain BullMQ `Queue.add` and with raw
 * Redis writes that bypass BullMQ's encoding: each is dead-lettered with a reason, the node stays
 * up, the valid messages enqueued behind them are applied in order (nothing is blocked), and no
 * entity's state is changed by them.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { listDeadLetters } from '../../src/transport/bullmq/dead-letters.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { readLedgers, sleep } from '../fault/ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from '../fault/node-process.ts';
import { HOSTILE_RAW_JOB_DATA, hostileJobData } from '../fixtures/hostile/corpus.ts';

let redis: RedisHandle;
let client: Redis;
let node: NodeProcess | undefined;
const queues: Queue[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  await node?.kill('SIGKILL');
  await redis.stop();
});

async function run(rawRedisWrites: boolean, tag: string): Promise<void> {
  const prefix = `${redis.prefix}:{${tag}}`;
  const keys = new RedisKeys(prefix);
  // A long lease and stalled interval: a job that blocked the partition until the stalled check
  // gave it up would not finish within the deadline below.
  await node?.kill('SIGKILL');
  node = await startNodeProcess('ledger-node.ts', tag, { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: '2', LEASE_MS: '20000' });
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 2 });
  const to = { entity: 'Ledger', key: 'key-0' };
  const queueName = producer.queueOf(to);
  const raw = new Queue(queueName, { connection: redis.client(), prefix });
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix });
  queues.push(raw, dlq);

  await producer.send(to, { type: 'apply', seq: 0 }, { id: 'a-0' });
  const expected: string[] = [];
  for (const { name, data } of hostileJobData(to)) {
    await raw.add('hostile', data, { jobId: `bad-${name}` });
    expected.push(`bad-${name}`);
  }
  // Raw Redis writes of a job hash whose data is not BullMQ's JSON, pushed to the wait list.
  for (const { name, data } of rawRedisWrites ? HOSTILE_RAW_JOB_DATA : []) {
    const id = `raw-${name}`;
    await client.hset(`${prefix}:${queueName}:${id}`, { name: 'hostile', data, opts: '{"attempts":1}', timestamp: String(Date.now()), delay: '0', priority: '0' });
    await client.lpush(`${prefix}:${queueName}:wait`, id);
    expected.push(id);
  }
  await producer.send(to, { type: 'apply', seq: 1 }, { id: 'a-1' });
  await producer.send(to, { type: 'apply', seq: 2 }, { id: 'a-2' });

  let ledger = (await readLedgers(client, { prefix, partitions: 2 }, 1))[0];
  for (let i = 0; i < 300 && (ledger?.count ?? 0) < 3; i++) {
    await sleep(50);
    ledger = (await readLedgers(client, { prefix, partitions: 2 }, 1))[0];
  }
  expect(ledger, node.log()).toEqual({ count: 3, last: 2, anomalies: [] });

  const letters = await listDeadLetters(dlq);
  const byJob = new Map(letters.map((letter) => [letter.jobId, letter]));
  const lettered = expected.filter((id) => byJob.has(id));
  // A raw job may also be processed if its data happened to be a valid message to another key;
  // the lone-surrogate one is the only candidate and it must not touch key-0 (checked above).
  expect(expected.filter((id) => !byJob.has(id) && id !== 'raw-lone-surrogate-escape'), node.log()).toEqual([]);
  for (const id of lettered) expect(byJob.get(id)!.reason, id).toMatch(/\S{4,}/);
  // Job data is { v, id?, env, trace? } and nothing else: the first unknown field is named.
  expect(byJob.get('bad-proto-key-json')!.reason).toMatch(/unknown field "__proto__": a job's data is \{ v, id\?, env, trace\? \}/);
  if (rawRedisWrites) {
    expect(byJob.get('raw-not-json')!.reason).toMatch(/data is not JSON/);
    // The payload is kept exactly as it was in Redis, for whoever inspects or corrects it.
    expect(byJob.get('raw-not-json')!.data).toBe('this is not json');
  }
  expect(node.child.exitCode, node.log()).toBe(null);
  await producer.close();
}

it('dead-letters every hostile job added through BullMQ with a reason and applies the valid messages behind them', () => run(false, 'hostile-add'), 90_000);

// BullMQ parses a job's data while fetching it, before any processor runs: a job hash whose
// `data` is not JSON used to stay active and block its partition (see guarded-worker.ts).
it('dead-letters jobs whose raw Redis data is not JSON and applies the messages behind them', () => run(true, 'hostile-raw'), 90_000);
