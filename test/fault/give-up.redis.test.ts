/**
 * A node whose supervisors cannot keep its actors up gives up as an Erlang node does: its top
 * supervisor exceeds its restart intensity, the node logs why, leaves the cluster (its in-flight
 * job goes back to its queue, its leases are released) and exits non-zero; the other node takes
 * its partitions over and applies every message exactly once, in order.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { eventually } from '../transport/conformance.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { expectExactlyOnceInOrder, ledgerStream, sendStream } from './ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';

const KEYS = 16;
const PER_KEY = 20;
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

it('a node whose top supervisor gives up returns its work, exits non-zero, and the other node takes over', async () => {
  const prefix = `${redis.prefix}:{giveup}`;
  // Long leases: the survivor can only take over this quickly because the sick node released them.
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), LEASE_MS: '20000', HEARTBEAT_MS: '300' };
  const survivor = await startNodeProcess('ledger-node.ts', 'survivor', env);
  const sick = await startNodeProcess('ledger-node.ts', 'sick', { ...env, SICK: '1' });
  nodes.push(survivor, sick);
  const holders = async () => new Set(await Promise.all((await client.keys(new RedisKeys(prefix).leasePattern)).map((key) => client.get(key))));
  await eventually(async () => expect(await holders()).toEqual(new Set(['survivor', 'sick'])), 20_000);
  const exited = new Promise<number | null>((resolve) => sick.child.once('exit', (code) => resolve(code)));

  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });
  await sendStream(producer, ledgerStream(KEYS, PER_KEY), { batch: 32, pauseMs: 10 });
  await producer.close();

  expect(await exited).toBe(4);
  expect(sick.log()).toContain('the top supervisor gave up');
  await expectExactlyOnceInOrder(client, { prefix, partitions: PARTITIONS }, KEYS, PER_KEY, 20_000, () => `${survivor.log()}\n--- sick ---\n${sick.log()}`);
  expect(await holders()).toEqual(new Set(['survivor']));
}, 60_000);
