/**
 * Two node processes consume a stream of messages for many keys; one is killed with SIGKILL
 * mid-stream. The other takes its partitions over (its leases expire, its stalled job returns to
 * the head of its queue), and at the end every message is applied exactly once, in order per key.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { eventually } from '../transport/conformance.ts';
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
    const leases = await client.keys(new RedisKeys(prefix).leasePattern);
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

  await expectExactlyOnceInOrder(client, { prefix, partitions: PARTITIONS }, KEYS, PER_KEY, 30_000, () => survivor!.log());
  // The dead node is forgotten: out of the node list, its cluster-wide names gone.
  const keys = new RedisKeys(prefix);
  await eventually(async () => {
    expect(await client.zrange(keys.nodes, 0, -1)).toEqual(['survivor']);
    expect(Object.keys(await client.hgetall(keys.names))).toEqual(['ledger-node:survivor']);
  });
  // The survivor holds every partition now.
  expect(await client.keys(new RedisKeys(prefix).leasePattern)).toHaveLength(PARTITIONS);
  expect(await holders()).toEqual(new Set(['survivor']));
}, 60_000);

it('a node stopped with SIGTERM mid-stream hands its partitions over at once and exits 0', async () => {
  const prefix = `${redis.prefix}:{term}`;
  // Long leases: a takeover within the test's time can only come from a release, not an expiry.
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), LEASE_MS: '20000', HEARTBEAT_MS: '300' };
  const [leaving, staying] = await Promise.all([startNodeProcess('ledger-node.ts', 'leaving', env), startNodeProcess('ledger-node.ts', 'staying', env)]);
  nodes.push(leaving!, staying!);
  const keys = new RedisKeys(prefix);
  const holders = async () => new Set(await Promise.all((await client.keys(new RedisKeys(prefix).leasePattern)).map((key) => client.get(key))));
  await eventually(async () => expect(await holders()).toEqual(new Set(['leaving', 'staying'])), 20_000);
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });

  let stopped = false;
  const messages = ledgerStream(KEYS, 30);
  await sendStream(producer, messages, {
    batch: 48,
    pauseMs: 15,
    onProgress: async (sent) => {
      if (!stopped && sent >= messages.length * 0.4) {
        stopped = true;
        await leaving!.kill('SIGTERM');
        expect(leaving!.child.exitCode).toBe(0);
      }
    },
  });
  await producer.close();
  await expectExactlyOnceInOrder(client, { prefix, partitions: PARTITIONS }, KEYS, 30, 15_000, () => staying!.log());
  expect(await holders()).toEqual(new Set(['staying']));
  expect(await client.zrange(keys.nodes, 0, -1)).toEqual(['staying']);
}, 60_000);
