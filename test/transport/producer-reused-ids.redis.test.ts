/**
 * A message id stands for one message: the producer sends the same id with the same content as a
 * duplicate (BullMQ keeps the first job), and refuses an id used before for other content — in
 * its queue or earlier in the same batch — writing nothing of that batch. The comparison runs in
 * Redis (one script per queue); these cases pin what it must answer.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernorProducer, IdempotencyKeyReusedError } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let client: Redis;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

async function producer(): Promise<{ producer: GovernorProducer; prefix: string }> {
  const prefix = `${redis.prefix}:{pr${++serial}}`;
  return { producer: await GovernorProducer.connect({ url: redis.url, prefix, partitions: 4 }), prefix };
}

const to = (key: string) => ({ entity: 'Account', key });

describe('a message id sent again', () => {
  it('with the same content is a duplicate: accepted, one job kept', async () => {
    const { producer: p } = await producer();
    try {
      const message = { to: to('a'), event: { type: 'deposit', amount: 5 }, id: 'm-1' };
      expect(await p.sendMany([message])).toEqual(['m-1']);
      expect(await p.sendMany([message])).toEqual(['m-1']);
      // The same content with its keys in another order is the same message.
      expect(await p.sendMany([{ ...message, event: { amount: 5, type: 'deposit' } }])).toEqual(['m-1']);
    } finally {
      await p.close();
    }
  });

  it('with other content is refused, naming the id, and nothing of its batch is written', async () => {
    const { producer: p, prefix } = await producer();
    try {
      await p.sendMany([{ to: to('a'), event: { type: 'deposit', amount: 5 }, id: 'm-1' }]);
      const before = await client.keys(`${prefix}:*`);
      const attempt = p.sendMany([
        { to: to('b'), event: { type: 'deposit', amount: 1 }, id: 'm-2' },
        { to: to('a'), event: { type: 'deposit', amount: 6 }, id: 'm-1' },
      ]);
      await expect(attempt).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      await expect(attempt).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', reused: [{ id: 'm-1', to: to('a') }], othersWritten: false });
      expect((await client.keys(`${prefix}:*`)).sort()).toEqual(before.sort());
    } finally {
      await p.close();
    }
  });

  it('within one batch with other content is refused; with the same content it is one message', async () => {
    const { producer: p } = await producer();
    try {
      const same = { to: to('c'), event: { type: 'deposit', amount: 2 }, id: 'm-3' };
      expect(await p.sendMany([same, same])).toEqual(['m-3', 'm-3']);
      await expect(p.sendMany([
        { to: to('d'), event: { type: 'deposit', amount: 2 }, id: 'm-4' },
        { to: to('d'), event: { type: 'deposit', amount: 3 }, id: 'm-4' },
      ])).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', reused: [{ id: 'm-4' }] });
    } finally {
      await p.close();
    }
  });

  it('to another entity is another message (ids are scoped by target)', async () => {
    const { producer: p } = await producer();
    try {
      await p.sendMany([{ to: to('e'), event: { type: 'deposit', amount: 1 }, id: 'm-5' }]);
      expect(await p.sendMany([{ to: to('f'), event: { type: 'deposit', amount: 9 }, id: 'm-5' }])).toEqual(['m-5']);
    } finally {
      await p.close();
    }
  });
});
