/**
 * Hostile raw job hashes whose other BullMQ fields are not what BullMQ writes: `opts`,
 * `progress` or `parent` that is not JSON. BullMQ parses them while fetching the job, before any
 * processor runs (`rawToJobJson` in its Redis backend, also when it fetches the next job on
 * completing one). Each such job is dead-lettered with a reason, the node stays up and the valid
 * messages behind it are applied in order.
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

const FIELDS: readonly { name: string; fields: Record<string, string>; reason: RegExp }[] = [
  { name: 'opts-not-json', fields: { opts: 'not json' }, reason: /opts is not a JSON object/ },
  { name: 'opts-truncated', fields: { opts: '{"attempts":' }, reason: /opts is not a JSON object/ },
  { name: 'opts-null', fields: { opts: 'null' }, reason: /opts is not a JSON object/ },
  { name: 'progress-not-json', fields: { progress: '{oops' }, reason: /progress is not JSON/ },
  { name: 'parent-not-json', fields: { parent: 'nope' }, reason: /parent is not a JSON object \("nope"\)/ },
  { name: 'data-and-opts-not-json', fields: { data: 'neither', opts: 'nor' }, reason: /data is not JSON.*; opts is not a JSON object/ },
];

it('dead-letters raw jobs whose opts, progress or parent is not JSON and applies the messages behind them', async () => {
  const tag = 'hostile-fields';
  const prefix = `${redis.prefix}:{${tag}}`;
  const keys = new RedisKeys(prefix);
  // A long lease: a job that blocked the partition until the stalled check would miss the deadline.
  node = await startNodeProcess('ledger-node.ts', tag, { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: '2', LEASE_MS: '20000' });
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 2 });
  const to = { entity: 'Ledger', key: 'key-0' };
  const queueName = producer.queueOf(to);
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix });
  queues.push(dlq);

  await producer.send(to, { type: 'apply', seq: 0 }, { id: 'a-0' });
  const expected: string[] = [];
  for (const { name, fields } of FIELDS) {
    const id = `raw-${name}`;
    // Valid data: only the field under test is broken.
    const data = JSON.stringify({ v: 1, id, env: { t: 'cast', to, event: { type: 'noop-never-applied' } } });
    await client.hset(`${prefix}:${queueName}:${id}`, { name: 'hostile', data, opts: '{"attempts":1}', timestamp: String(Date.now()), delay: '0', priority: '0', ...fields });
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
  expect(expected.filter((id) => !byJob.has(id)), node.log()).toEqual([]);
  for (const { name, reason } of FIELDS) expect(byJob.get(`raw-${name}`)!.reason, name).toMatch(reason);
  // Each once: none stayed active (its completion failing) until the stalled check handed it out again.
  const letteredLines = node.log().split('\n').filter((line) => line.includes('"msg":"dead-lettered"'));
  for (const id of expected) expect(letteredLines.filter((line) => line.includes(`"jobId":"${id}"`)), id).toHaveLength(1);
  expect(node.child.exitCode, node.log()).toBe(null);
  await producer.close();
}, 60_000);
