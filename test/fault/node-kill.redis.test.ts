/**
 * Two node processes consume a stream of messages for many keys; one is killed with SIGKILL
 * mid-stream. The other takes its partitions over (its leases expire, its stalled job returns to
 * the head of its queue), and at the end every message is applied exactly once, in order per key.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { expectExactlyOnceInOrder, ledgerStream, sendStream, sleep } from './ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

const KEYS = 24;
const PER_KEY = 60;
const PARTITIONS = 8;

let redis: RedisHandle;
let client: Redis;
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
  await redis.stop();
});

it('a node killed mid-stream loses nothing and applies nothing twice', async () => {
  const prefix = `${redis.prefix}:{kill}`;
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), LEASE_MS: '1500' };
  const [victim, survivor] = await Promise.all([startNodeProcess('ledger-node.ts', 'victim', env), startNodeProcess('ledger-node.ts', 'survivor', env)]);
  nodes.push(victim!, survivor!);
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });
  const holders = async () => {
    const leases = await client.keys(`${prefix}:g:l:*`);
    return new Set(await Promise.all(leases.map((key) => client.get(key))));
  };
  // Both nodes share the partitions before the stream starts (the first one took them all, then gave half back).
  for (let i = 0; i < 100 && (await holders()).size < 2; i++) await sleep(100);
  expect(await holders()).toEqual(new Set(['victim', 'survivor']));

  let killed = false;
  const messages = ledgerStream(KEYS, PER_KEY);
  await sendStream(producer, messages, {
    batch: 48,
    pauseMs: 15,
    onProgress: async (sent) => {
      if (!killed && sent >= messages.length * 0.4) {
        killed = true;
        expect(await holders()).toContain('victim'); // mid-stream, mid-job
        await victim!.kill('SIGKILL');
      }
    },
  });
  expect(killed).toBe(true);
  await producer.close();

  await expectExactlyOnceInOrder(client, prefix, KEYS, PER_KEY, 30_000, () => survivor!.log());
  // The survivor holds every partition now.
  expect(await client.keys(`${prefix}:g:l:*`)).toHaveLength(PARTITIONS);
  expect(await holders()).toEqual(new Set(['survivor']));
}, 60_000);
