/**
 * Redaction of the copies BullMQ keeps of a customer's messages (finished jobs in its partition
 * queue, dead letters), on a private Redis with no node: only the customer's finished jobs are
 * changed (one still to run is a later event, left as sent), every personal field goes at any
 * depth, a dead letter keeps its reason minus the personal values it quotes (so does a failed job
 * its failedReason and stack traces), and a second run changes nothing.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerQueues, redactQueuedCopies } from '../../src/cli/customer/queued-copies.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { addDeadLetter, DeadLetteredError } from '../../src/transport/bullmq/dead-letters.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let client: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  client = redis.client();
  keys = new RedisKeys(`${redis.prefix}:{copies}`);
}, 30_000);
afterAll(async () => redis?.stop());

const EMAIL = 'mary.jackson@example.com';
const message = (customerId: string, entity = 'Orchestrator', extra: Record<string, unknown> = {}) => ({
  v: 1,
  id: `m-${customerId}-${entity}`,
  env: { t: 'cast', to: { entity, key: customerId }, event: { type: 'lifecycle', event: { type: 'CustomerSubscribes', customerId, contact: { email: EMAIL, name: 'Mary Jackson' }, ...extra } } },
});

/** Moves a waiting job to completed by hand, as a worker finishing it leaves it (data kept). */
async function finish(queueName: string, id: string): Promise<void> {
  await client.hset(keys.queueKey(queueName, id), 'finishedOn', String(Date.now()));
  await client.zadd(keys.queueKey(queueName, 'completed'), Date.now(), id);
  await client.lrem(keys.queueKey(queueName, 'wait'), 0, id);
}

async function allText(): Promise<string> {
  const found: string[] = [];
  for (const k of await client.keys('*')) {
    const type = await client.type(k);
    if (type === 'hash') found.push(JSON.stringify(await client.hgetall(k)));
    else if (type === 'string') found.push((await client.get(k)) ?? '');
  }
  return found.join('\n');
}

describe('redactQueuedCopies', () => {
  it('redacts the customer’s jobs and dead letters, and nobody else’s', async () => {
    const [queueName] = customerQueues(keys, 'cq-1', 16);
    const queue = new Queue(queueName!, { connection: client, prefix: keys.prefix });
    await queue.add('a', message('cq-1'), { jobId: 'j-1' });
    await queue.add('b', message('cq-1', 'CustomerAccount', { reason: 'asked by Mary Jackson' }), { jobId: 'j-2', delay: 3_600_000 });
    // Another customer in the same queue: untouched.
    await queue.add('c', message('cq-other'), { jobId: 'j-3' });
    // A finished job keeps its data too where the nodes keep finished jobs (removeOnComplete).
    const done = await queue.add('d', message('cq-1', 'Receipts'), { jobId: 'j-4' });
    for (const id of ['j-1', 'j-4']) await finish(queueName!, id);
    const dlq = new Queue(keys.deadLetterQueue, { connection: client, prefix: keys.prefix });
    await addDeadLetter(dlq, { queueName: queueName!, id: 'j-9', name: 'x', data: message('cq-1') } as unknown as Job, `contact.email: bad value "${EMAIL}"`, 'n1', Date.now());
    await addDeadLetter(dlq, { queueName: queueName!, id: 'j-8', name: 'x', data: message('cq-other') } as unknown as Job, `about "${EMAIL}"`, 'n1', Date.now());

    const report = await redactQueuedCopies(client, keys, 'cq-1', 16);
    expect(report).toEqual({ jobsRead: 2, jobsRedacted: 2, deadLetters: 1, deadLettersRedacted: 1 });
    expect(done.id).toBe('j-4');

    // A job still to run is a later event: left as enqueued (rewriting it would change the event under its id).
    expect(JSON.stringify((await queue.getJob('j-2'))!.data)).toContain(EMAIL);
    const mine = await Promise.all(['j-1', 'j-4'].map((id) => queue.getJob(id)));
    for (const job of mine) {
      expect(JSON.stringify(job!.data)).not.toMatch(/mary|Mary/);
      expect(JSON.stringify(job!.data)).toContain('[erased]');
    }
    expect(JSON.stringify((await queue.getJob('j-3'))!.data)).toContain(EMAIL);
    const letter = await dlq.getJob(`${queueName}~j-9`);
    expect(letter!.data.reason).toBe('contact.email: bad value "[erased]"');
    expect(JSON.stringify(letter!.data)).not.toContain(EMAIL);
    expect(JSON.stringify((await dlq.getJob(`${queueName}~j-8`))!.data)).toContain(EMAIL);
    // Only the other customer's copies and the job still to run hold it: the other's job, its
    // letter's data and reason, and j-2.
    expect((await allText()).split(EMAIL).length - 1).toBe(4);

    // Idempotent: nothing left to redact.
    expect(await redactQueuedCopies(client, keys, 'cq-1', 16)).toEqual({ jobsRead: 2, jobsRedacted: 0, deadLetters: 1, deadLettersRedacted: 0 });
    await queue.close();
    await dlq.close();
  });

  it('takes the personal values a failed job’s failedReason and stack trace quote out of them', async () => {
    const [queueName] = customerQueues(new RedisKeys(`${redis.prefix}:{failed}`), 'cq-2', 16);
    const failedKeys = new RedisKeys(`${redis.prefix}:{failed}`);
    const queue = new Queue(queueName!, { connection: client, prefix: failedKeys.prefix });
    await queue.add('a', message('cq-2'), { jobId: 'dead-lettered' });
    await queue.add('b', message('cq-2'), { jobId: 'thrown' });
    // A real worker fails them: one dead-lettered by a node (no stack), one that threw (a stack).
    const worker = new Worker(
      queueName!,
      (job) => {
        if (job.id === 'dead-lettered') throw new DeadLetteredError(`invalid message: $.event.contact.email: bad value "${EMAIL}"`);
        throw new Error(`could not mail ${EMAIL}`);
      },
      { connection: redis.client({ maxRetriesPerRequest: null }), prefix: failedKeys.prefix },
    );
    const failed = new Set<string>();
    await new Promise<void>((resolve) => worker.on('failed', (job) => failed.add(job!.id!).size === 2 && resolve()));
    await worker.close();
    expect((await queue.getJob('dead-lettered'))!.failedReason).toContain(EMAIL);
    expect((await queue.getJob('thrown'))!.stacktrace?.join('\n')).toContain(EMAIL);

    expect(await redactQueuedCopies(client, failedKeys, 'cq-2', 16)).toMatchObject({ jobsRead: 2, jobsRedacted: 2 });
    const deadLettered = (await queue.getJob('dead-lettered'))!;
    expect(deadLettered.failedReason).toBe('invalid message: $.event.contact.email: bad value "[erased]"');
    expect(await deadLettered.getState()).toBe('failed');
    const thrown = (await queue.getJob('thrown'))!;
    expect(thrown.failedReason).toBe('could not mail [erased]');
    expect(thrown.stacktrace?.join('\n')).toContain('could not mail [erased]');
    const hashes = await Promise.all(['dead-lettered', 'thrown'].map((id) => client.hgetall(failedKeys.queueKey(queueName!, id))));
    expect(JSON.stringify(hashes)).not.toMatch(/mary|Mary/);
    await queue.close();
  }, 60_000);
});
