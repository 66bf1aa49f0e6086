/**
 * Bad messages never block the queue behind them nor crash the node: a message whose handler
 * keeps crashing, a job that breaks the schema, one for an unknown entity kind and one in another
 * format version are dead-lettered with their reason and original payload; the messages behind
 * them, for the same key and partition, are applied in order. Each dead-lettered job ends *failed*
 * in its own queue with the reason (never retried), and its dead letter names it there. A dead
 * letter can be replayed: the replay runs once, its failed original leaves the queue, and the same
 * message sent again is skipped (its id was handled).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/transport/bullmq/dead-letters.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { readLedgers, sleep } from './ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

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

it('dead-letters bad messages with their reason and processes the ones behind them', async () => {
  const prefix = `${redis.prefix}:{poison}`;
  const keys = new RedisKeys(prefix);
  node = await startNodeProcess('ledger-node.ts', 'p1', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: '4', LEASE_MS: '2000' });
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 4 });
  const to = { entity: 'Ledger', key: 'key-0' };
  const raw = new Queue(producer.queueOf(to), { connection: redis.client(), prefix });
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix });
  queues.push(raw, dlq);

  for (let seq = 0; seq < 5; seq++) await producer.send(to, { type: 'apply', seq }, { id: `a-${seq}` });
  await producer.send(to, { type: 'poison' }, { id: 'poison-1' });
  await raw.add('apply', { v: 1, env: { t: 'cast', to, event: { nope: 1 } } }, { jobId: 'bad-schema' });
  await raw.add('apply', { v: 99, env: { t: 'cast', to, event: { type: 'apply', seq: 5 } } }, { jobId: 'bad-version' });
  await producer.send({ entity: 'Nope', key: 'key-0' }, { type: 'apply', seq: 5 }, { id: 'unknown-kind' });
  for (let seq = 5; seq < 10; seq++) await producer.send(to, { type: 'apply', seq }, { id: `a-${seq}` });

  let ledger = (await readLedgers(client, { prefix, partitions: 4 }, 1))[0];
  for (let i = 0; i < 200 && (ledger?.count ?? 0) < 10; i++) {
    await sleep(50);
    ledger = (await readLedgers(client, { prefix, partitions: 4 }, 1))[0];
  }
  expect(ledger, node.log()).toEqual({ count: 10, last: 9, anomalies: [] });

  const letters = await listDeadLetters(dlq);
  // By message id: the producer's job ids are scoped by target (`Ledger/key-0/poison-1`).
  const idOf = (letter: { jobId?: string; data: unknown }) => (letter.data as { id?: string } | null)?.id ?? letter.jobId;
  const byJob = new Map(letters.map((letter) => [idOf(letter), letter]));
  expect([...byJob.keys()].sort()).toEqual(['bad-schema', 'bad-version', 'poison-1', 'unknown-kind']);
  expect(byJob.get('poison-1')!.reason).toMatch(/crashed 3 times \(retry budget 2\): Error: poison message/);
  expect(byJob.get('poison-1')!.data).toEqual({ v: 1, id: 'poison-1', env: { t: 'cast', to, event: { type: 'poison' } } });
  expect(byJob.get('bad-schema')!.reason).toMatch(/invalid job: env: event\.type must be a non-empty string/);
  expect(byJob.get('bad-schema')!.data).toEqual({ v: 1, env: { t: 'cast', to, event: { nope: 1 } } });
  expect(byJob.get('bad-version')!.reason).toMatch(/unsupported job format version 99/);
  expect(byJob.get('unknown-kind')!.reason).toMatch(/unknown entity kind "Nope"/);
  for (const letter of letters) expect(letter.node).toBe('p1');

  // Each one failed in its own queue, with the reason, after one attempt: the letter links to it.
  for (const letter of letters) {
    const queue = new Queue(letter.queue, { connection: client, prefix });
    queues.push(queue);
    const job = await queue.getJob(letter.jobId!);
    expect(job, letter.id).toBeDefined();
    expect(await job!.getState(), letter.id).toBe('failed');
    expect(job!.failedReason, letter.id).toBe(letter.reason);
    expect(job!.attemptsMade, letter.id).toBe(1);
    expect(job!.data, letter.id).toEqual(letter.data);
    expect(letter.id).toBe(`${letter.queue}~${letter.jobId}`);
  }
  // The messages behind them completed (and left: removeOnComplete keeps none); only the dead-lettered failed.
  expect(await raw.getJobCounts('failed', 'waiting', 'active', 'delayed')).toEqual({ failed: 4, waiting: 0, active: 0, delayed: 0 });

  // Replayed with its data corrected, the schema-breaking message is applied (once) after all.
  const replay = await replayDeadLetter(dlq, (name) => new Queue(name, { connection: client, prefix }), byJob.get('bad-schema')!.id, {
    data: { v: 1, env: { t: 'cast', to, event: { type: 'apply', seq: 10 } } },
  });
  expect(replay.ok).toBe(true);
  for (let i = 0; i < 200 && (ledger?.count ?? 0) < 11; i++) {
    await sleep(50);
    ledger = (await readLedgers(client, { prefix, partitions: 4 }, 1))[0];
  }
  expect(ledger).toEqual({ count: 11, last: 10, anomalies: [] });
  expect((await listDeadLetters(dlq)).map(idOf).sort()).toEqual(['bad-version', 'poison-1', 'unknown-kind']);
  expect(byJob.get('poison-1')!.jobId).toBe('Ledger/key-0/poison-1');
  // The failed original left its queue: the replay is what ran.
  expect(await raw.getJob('bad-schema')).toBeUndefined();
  expect(await raw.getJobCounts('failed')).toEqual({ failed: 3 });

  // Decided once: the replayed message sent again (its message id kept) is skipped as handled.
  await raw.add('apply', { v: 1, id: 'bad-schema', env: { t: 'cast', to, event: { type: 'apply', seq: 10 } } }, { jobId: 'bad-schema-again' });
  await producer.send(to, { type: 'apply', seq: 11 }, { id: 'a-11' });
  for (let i = 0; i < 200 && (ledger?.count ?? 0) < 12; i++) {
    await sleep(50);
    ledger = (await readLedgers(client, { prefix, partitions: 4 }, 1))[0];
  }
  expect(ledger, node.log()).toEqual({ count: 12, last: 11, anomalies: [] });
  expect(node.log()).toMatch(/skipped a job whose message id was handled before/);

  // What the README says of a dashboard's "retry" of a failed job: it runs again (and fails again
  // here), but its dead letter is the same one, with the first reason and time: use dlq replay.
  const poisoned = (await listDeadLetters(dlq)).find((letter) => idOf(letter) === 'poison-1')!;
  await (await raw.getJob(poisoned.jobId!))!.retry('failed');
  let again = await raw.getJob(poisoned.jobId!);
  for (let i = 0; i < 400 && again?.attemptsMade !== 2; i++) {
    await sleep(50);
    again = await raw.getJob(poisoned.jobId!);
  }
  expect(again?.attemptsMade, node.log()).toBe(2);
  expect(await again!.getState()).toBe('failed');
  expect((await listDeadLetters(dlq)).filter((letter) => idOf(letter) === 'poison-1')).toEqual([poisoned]);
  await producer.close();
}, 60_000);
