/**
 * The dataset guard in the commit script: a commit counts up its partition's sequence (the
 * partition's copy of the dataset sentinel, in the partition's slot), and a commit on a dataset
 * behind what the node saw (a lower sequence, no copy, another id, a halt) writes nothing and
 * deletes the job's lock, so the job is not completed either.
 */
import { describe, expect, it } from 'vitest';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { DatasetEpoch } from '../../src/store/dataset-epoch.ts';
import { DatasetRolledBackError } from '../../src/store/redis-errors.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { withScripts } from '../../src/store/redis-scripts.ts';
import { RedisStore, type CommitBatch } from '../../src/store/redis-store.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();

const billing = { entity: 'Billing', key: 'customer-1' };

function state(count: number): PersistedActorState {
  return { version: PERSISTED_STATE_VERSION, machine: 'counter', snapshot: { status: 'active', value: 'idle', context: { count } }, timers: [], postponed: [] };
}

/** A node's view: its epoch opened on a prefix of its own, a store guarded by it, the lease of partition 0. */
async function openNode(prefix = `${db.prefix('e')}`): Promise<{ epoch: DatasetEpoch; store: RedisStore; keys: RedisKeys }> {
  const keys = new RedisKeys(prefix);
  const epoch = new DatasetEpoch(keys.epoch, (p) => keys.partitionEpoch(p));
  await epoch.open(withScripts(db.client));
  await db.client.set(keys.lease('0'), 'n1');
  return { epoch, store: new RedisStore(db.client, { prefix, epoch }), keys };
}

function batch(id: string, expectedVersion: number, count: number): CommitBatch {
  return { partition: '0', node: 'n1', message: { id, target: billing }, entries: [{ address: billing, expectedVersion, state: state(count) }], outbox: ['sent'], relayed: 0 };
}

describe('the dataset sentinel', () => {
  it('is created on a fresh dataset and read, not replaced, by the next node', async () => {
    const keys = new RedisKeys(`${db.prefix('e')}`);
    const first = await new DatasetEpoch(keys.epoch, (p) => keys.partitionEpoch(p)).open(withScripts(db.client));
    expect(first).toMatchObject({ halted: '', created: true });
    expect(first.id).toMatch(/^[0-9a-f]{16}$/);
    const second = await new DatasetEpoch(keys.epoch, (p) => keys.partitionEpoch(p)).open(withScripts(db.client));
    expect(second).toEqual({ ...first, created: false });
  });

  it('a partition copy is made at its first commit, with the dataset id, and recorded in the fleet sentinel', async () => {
    const { epoch, store, keys } = await openNode();
    expect(await db.client.exists(keys.partitionEpoch('0'))).toBe(0);
    await store.commit(batch('m1', 0, 1));
    expect(await db.client.hgetall(keys.partitionEpoch('0'))).toEqual({ id: epoch.id, seq: '1' });
    expect(await db.client.hget(keys.epoch, 'opened:0')).toBe('1');
  });

  it('a partition copy that vanished after it was made is a loss, not a fresh partition (a shard that lost its data)', async () => {
    const prefix = `${db.prefix('e')}`;
    const a = await openNode(prefix);
    await a.store.commit(batch('m1', 0, 1));
    await db.client.del(a.keys.partitionEpoch('0'));
    // A node that never saw the partition would otherwise start it afresh.
    const b = await openNode(prefix);
    const result = await b.store.commit(batch('m2', 1, 2));
    expect(result.status).toBe('rolledBack');
    expect(result.status === 'rolledBack' && result.error.message).toMatch(/no dataset sentinel/);
    expect(await db.client.exists(b.keys.partitionEpoch('0'))).toBe(0);
  });

  it('counts every guarded commit and raises the node mark; refusals count nothing', async () => {
    const { epoch, store, keys } = await openNode();
    expect(await store.commit(batch('m1', 0, 1))).toEqual({ status: 'ok', versions: [1] });
    expect(await store.commit(batch('m2', 1, 2))).toEqual({ status: 'ok', versions: [2] });
    expect(await store.commit(batch('m2', 2, 3))).toEqual({ status: 'duplicate' });
    expect(epoch.seen('0')).toBe(2);
    expect(await db.client.hget(keys.partitionEpoch('0'), 'seq')).toBe('2');
    // Another node's commits move the partition's sequence on; this node's mark follows at its next read.
    await db.client.hincrby(keys.partitionEpoch('0'), 'seq', 5);
    expect(await epoch.check(db.client)).toBeUndefined();
    expect(epoch.seen('0')).toBe(7);
  });

  it('judges a read by the mark when it was sent: a commit answered meanwhile is no rollback', async () => {
    const { epoch, store } = await openNode();
    await store.commit(batch('m1', 0, 1));
    const reading = epoch.check(db.client);
    epoch.observe(epoch.seen('0') + 5, '0'); // a commit on another connection, answered before the read
    expect(await reading).toBeUndefined();
    expect(epoch.seen('0')).toBe(6);
  });

  it('an unguarded store commits as before, without the sentinel', async () => {
    const prefix = `${db.prefix('e')}`;
    const store = new RedisStore(db.client, { prefix });
    await db.client.set(store.keys.lease('0'), 'n1');
    expect(await store.commit(batch('m1', 0, 1))).toEqual({ status: 'ok', versions: [1] });
    expect(await db.client.exists(store.keys.epoch)).toBe(0);
    expect(await db.client.exists(store.keys.partitionEpoch('0'))).toBe(0);
  });
});

describe('a dataset that went backwards', () => {
  const cases: [string, (keys: RedisKeys) => Promise<unknown>, RegExp][] = [
    ['a lower sequence (the last second lost)', (keys) => db.client.hset(keys.partitionEpoch('0'), 'seq', 1), /saw commit 2 of dataset \w+, but Redis is back at commit 1/],
    ['no sentinel (flushed)', (keys) => db.client.del(keys.partitionEpoch('0')), /no dataset sentinel/],
    ['another dataset', (keys) => db.client.hset(keys.partitionEpoch('0'), 'id', 'feedfeedfeedfeed', 'seq', 9), /another dataset \(id feedfeedfeedfeed, commit 9\)/],
    ['a halt left by another node', (keys) => db.client.hset(keys.partitionEpoch('0'), 'halted', 'found by node n2'), /halted after it went backwards \(found by node n2\)/],
  ];
  it.each(cases)('%s: the commit writes nothing and its job does not complete', async (_name, rollBack, message) => {
    const { store, keys } = await openNode();
    await store.commit(batch('m1', 0, 1));
    await store.commit(batch('m2', 1, 2));
    await rollBack(keys);
    const before = await db.client.hgetall(keys.state(billing));
    const lock = keys.jobLock(keys.partitionQueue('0'), 'job-3');
    await db.client.set(lock, 'token-3');

    const result = await store.commit({ ...batch('m3', 2, 3), job: { queue: keys.partitionQueue('0'), id: 'job-3', token: 'token-3' } });
    expect(result.status).toBe('rolledBack');
    const error = result.status === 'rolledBack' ? result.error : undefined;
    expect(error).toBeInstanceOf(DatasetRolledBackError);
    expect(error?.code).toBe('DATASET_ROLLED_BACK');
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain(`redis-cli HDEL '${keys.partitionEpoch('0')}' halted`);
    expect(await db.client.hgetall(keys.state(billing))).toEqual(before);
    expect(await db.client.zscore(keys.handled(billing), 'm3')).toBeNull();
    expect(await store.readOutbox('0')).toEqual(['sent', 'sent']);
    expect(await db.client.get(lock)).toBeNull();
  });

  it('the heartbeat read finds it too, and a halt stops every node and every start until it is cleared', async () => {
    const prefix = `${db.prefix('e')}`;
    const a = await openNode(prefix);
    const b = await openNode(prefix);
    await a.store.commit(batch('m1', 0, 1));
    await a.store.commit(batch('m2', 1, 2));
    await db.client.hset(a.keys.partitionEpoch('0'), 'seq', 1);
    // b never saw commit 2: to b the dataset looks fine...
    expect(await b.epoch.check(db.client)).toBeUndefined();
    // ...but a saw it, and halts the dataset for everyone.
    const found = await a.epoch.check(db.client);
    expect(found).toBeInstanceOf(DatasetRolledBackError);
    await a.epoch.halt(db.client, found!, 'a', 0);
    const record = 'found by node a at 1970-01-01T00:00:00.000Z: it had seen commit 2 of dataset ' + a.epoch.id + `, Redis had commit 1 of dataset ${a.epoch.id} at ${a.keys.partitionEpoch('0')}`;
    expect(await db.client.hget(a.keys.epoch, 'halted')).toBe(record);
    expect(await db.client.hget(a.keys.partitionEpoch('0'), 'halted')).toBe(record);
    expect((await b.store.commit(batch('m3', 1, 3))).status).toBe('rolledBack');
    // b's heartbeat read sees the fleet's halt too, even on a partition it never opened.
    expect((await b.epoch.check(db.client))?.message).toMatch(/halted after it went backwards \(found by node a/);
    await expect(new DatasetEpoch(a.keys.epoch, (p) => a.keys.partitionEpoch(p)).open(withScripts(db.client))).rejects.toThrow(/halted after it went backwards \(found by node a/);
    // The operator's resume: the next node opens the dataset as it is now.
    await db.client.hdel(a.keys.epoch, 'halted');
    await db.client.hdel(a.keys.partitionEpoch('0'), 'halted');
    const c = await openNode(prefix);
    await c.epoch.openPartition(withScripts(db.client), '0');
    expect(c.epoch.seen('0')).toBe(1);
    expect((await c.store.commit(batch('m3', 2, 3))).status).toBe('ok'); // (only the sequence was set back here)
  });
});
