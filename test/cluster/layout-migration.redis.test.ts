/**
 * `governor migrate-layout` on a dataset of key layout 1: states, journals, handled ids, timers,
 * outboxes, the dataset sentinel, a partition queue with a waiting job and the dead letters move
 * to their layout-2 names (queue names inside outbox entries and dead letters rewritten), what a
 * fleet rebuilds is dropped, and a node of this version then starts on it and carries on where
 * the old one stopped: the waiting job is handled on top of the migrated state.
 */
import { Queue, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planKeyMove } from '../../src/store/layout-migration.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { addDeadLetter } from '../../src/transport/bullmq/dead-letters.ts';
import { startBullmqNode } from '../../src/transport/bullmq/index.ts';
import { jobIdFor, JOB_FORMAT_VERSION } from '../../src/transport/bullmq/job-format.ts';
import { governor } from '../cli/governor-command.ts';
import { counter } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
const KINDS = [{ kind: 'Counter', machine: counter }];
const logger = pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' });

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('planKeyMove', () => {
  const keys = new RedisKeys('gov', { partitions: 4 });
  const c1 = { entity: 'Counter', key: 'a:b/{c}' };
  it.each([
    ['{old}:g:s:Counter:a%3Ab%2F%7Bc%7D', keys.state(c1)],
    ['{old}:g:j:Counter:a%3Ab%2F%7Bc%7D', keys.journal(c1)],
    ['{old}:g:h:Counter:a%3Ab%2F%7Bc%7D', keys.handled(c1)],
    ['{old}:g:t:3', keys.timers('3')],
    ['{old}:g:o:3', keys.outbox('3')],
    ['{old}:g:epoch', keys.epoch],
    ['{old}:p.3:wait', 'gov:{p.3}:wait'],
    ['{old}:p.Counter.1:job-1:lock', 'gov:{p.Counter.1}:job-1:lock'],
    ['{old}:dlq:meta', 'gov:{dlq}:meta'],
  ])('moves %s to %s', (from, to) => {
    expect(planKeyMove(from, '{old}', keys)).toMatchObject({ action: 'move', to });
  });
  it.each(['{old}:g:l:3', '{old}:g:nodes', '{old}:g:names', '{old}:g:nn:n1', '{old}:g:admin:n1', '{old}:g:rate:c1', '{old}:n.n1:wait'])('drops %s, which a running fleet rebuilds', (key) => {
    expect(planKeyMove(key, '{old}', keys).action).toBe('drop');
  });
  it.each(['{old}:g:s:Counter:%zz', '{old}:g:whatever', 'other:g:epoch', '{old}:x'])('leaves %s, not recognised', (key) => {
    expect(planKeyMove(key, '{old}', keys).action).toBe('unknown');
  });
});

describe('governor migrate-layout', () => {
  it('moves a layout-1 dataset, and a node of this version carries on from it', async () => {
    const client = redis.client();
    const prefix = `${redis.prefix}new`;
    const legacy = `{${prefix}}`; // the old default's form: the same name in braces
    const keys = new RedisKeys(prefix, { partitions: 2 });
    const c1 = { entity: 'Counter', key: 'c1' };

    // A real committed state, made by this version on a scratch prefix, stored under its layout-1 name.
    const scratch = new RedisKeys(`${redis.prefix}scratch`, { partitions: 2 });
    const maker = await startBullmqNode({ url: redis.url, prefix: scratch.prefix, name: 'maker', kinds: KINDS, partitions: 2, logger });
    for (let i = 0; i < 3; i++) maker.node.cast(c1, { type: 'inc' });
    expect(await maker.node.call(c1, { type: 'get' })).toEqual({ count: 3, dings: 0 });
    await maker.stop({ timeoutMs: 2_000 });
    const stored = await client.hgetall(scratch.state(c1));
    const partition = scratch.partitionOf(c1);
    await client.hset(`${legacy}:g:s:Counter:c1`, stored);
    await client.zadd(`${legacy}:g:h:Counter:c1`, 1, 'old-message');
    await client.hset(`${legacy}:g:epoch`, 'id', 'feedfeedfeedfeed', 'seq', '12');
    await client.rpush(`${legacy}:g:o:${partition}`, JSON.stringify({ queue: `p.${partition}`, id: 'sent-1', env: { t: 'cast', to: c1, event: { type: 'ignore' } } }));
    await client.set(`${legacy}:g:l:${partition}`, 'old-node', 'PX', 60_000);
    await client.zadd(`${legacy}:g:nodes`, 1, 'old-node'); // dead long ago
    await client.set(`${redis.prefix}oldish`, 'not ours'); // another key, outside the old prefix
    // A job the old fleet left waiting in its partition queue, and a dead letter from that queue.
    const waiting = new Queue(`p.${partition}`, { connection: client, prefix: legacy });
    await waiting.add('inc', { v: JOB_FORMAT_VERSION, id: 'left-1', env: { t: 'cast', to: c1, event: { type: 'inc' } } }, { jobId: jobIdFor(c1, 'left-1') });
    await waiting.close();
    const dlq = new Queue('dlq', { connection: client, prefix: legacy });
    const parked = { queueName: `p.${partition}`, id: jobIdFor(c1, 'parked-1'), name: 'inc', data: { v: JOB_FORMAT_VERSION, id: 'parked-1', env: { t: 'cast', to: c1, event: { type: 'inc' } } } } as unknown as Job;
    await addDeadLetter(dlq, parked, 'parked by the test', 'old-node', 1);
    await dlq.close();

    // The node refuses it until it is migrated.
    await expect(startBullmqNode({ url: redis.url, prefix, name: 'early', kinds: KINDS, partitions: 2, logger })).rejects.toThrow(/key layout 1/);

    const dry = governor(['migrate-layout', '--redis', redis.url, '--from-prefix', legacy, '--prefix', prefix, '--partitions', '2', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would move ${legacy}:g:s:Counter:c1 -> ${keys.state(c1)}`);
    expect(await client.exists(`${legacy}:g:s:Counter:c1`)).toBe(1);

    const run = governor(['migrate-layout', '--redis', redis.url, '--from-prefix', legacy, '--prefix', prefix, '--partitions', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\d+ moved, \d+ dropped, 0 left/);
    expect(await client.keys(`${legacy}*`)).toEqual([]);
    expect(await client.get(`${redis.prefix}oldish`)).toBe('not ours');
    expect(await client.hgetall(keys.state(c1))).toEqual(stored);
    expect(await client.zscore(keys.handled(c1), 'old-message')).toBe('1');
    expect(await client.hget(keys.epoch, 'id')).toBe('feedfeedfeedfeed');
    expect(JSON.parse((await client.lrange(keys.outbox(partition), 0, -1))[0]!)).toMatchObject({ queue: `{p.${partition}}` });
    expect(await client.exists(keys.lease(partition))).toBe(0);

    // Again: nothing left to move.
    expect(governor(['migrate-layout', '--redis', redis.url, '--from-prefix', legacy, '--prefix', prefix, '--partitions', '2']).stdout).toContain('nothing under');

    // A node of this version starts on it: the waiting job lands on the migrated state; the dead letter replays into the new queue.
    const node = await startBullmqNode({ url: redis.url, prefix, name: 'new', kinds: KINDS, partitions: 2, logger });
    try {
      const letters = await node.transport.listDeadLetters();
      expect(letters.map((l) => l.queue)).toEqual([`{p.${partition}}`]);
      expect(await node.transport.replayDeadLetter(letters[0]!.id)).toMatchObject({ ok: true, queue: `{p.${partition}}` });
      const deadline = Date.now() + 20_000;
      let count = 0;
      while (Date.now() < deadline && count < 5) {
        count = ((await node.node.call(c1, { type: 'get' })) as { count: number }).count;
        if (count < 5) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(count).toBe(5); // 3 migrated, the waiting job, the replayed dead letter
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
  }, 120_000);
});
