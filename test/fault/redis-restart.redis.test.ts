/**
 * Redis is stopped (SIGTERM: it fsyncs its AOF) and restarted on the same port and data dir while
 * two node processes consume a stream. The nodes and the producer reconnect, and every message
 * is applied exactly once, in order per key: what Redis acknowledged survived in the AOF.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { expectExactlyOnceInOrder, ledgerStream, sendStream, sleep } from './ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

const KEYS = 24;
const PER_KEY = 40;
const PARTITIONS = 8;

let redis: RedisHandle;
let client: Redis;
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
});
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
  await redis.stop();
});

it('a Redis restart mid-stream loses nothing and applies nothing twice', async () => {
  const prefix = `${redis.prefix}:{restart}`;
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), LEASE_MS: '2000' };
  const started = await Promise.all([startNodeProcess('ledger-node.ts', 'r1', env), startNodeProcess('ledger-node.ts', 'r2', env)]);
  nodes.push(...started);
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS });

  let restarted = false;
  const messages = ledgerStream(KEYS, PER_KEY);
  await sendStream(producer, messages, {
    batch: 48,
    pauseMs: 15,
    onProgress: async (sent) => {
      if (!restarted && sent >= messages.length * 0.4) {
        restarted = true;
        await redis.kill('SIGTERM');
        await sleep(500); // down for a while: commits, heartbeats and adds fail meanwhile
        await redis.restart();
      }
    },
  });
  expect(restarted).toBe(true);
  await producer.close();

  client = redis.client();
  await expectExactlyOnceInOrder(client, { prefix, partitions: PARTITIONS }, KEYS, PER_KEY, 30_000, () => started.map((n) => `[${n.name}]\n${n.log()}`).join('\n'));
  for (const node of started) expect(node.child.exitCode).toBeNull(); // both survived
}, 60_000);
