/**
 * Many nodes on one Redis: the node list, partition shares, cluster-wide names, the distributed
 * placement's per-kind pools, passivation of idle entities, dead letters through the transport,
 * and the start-up check of Redis' eviction policy.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnStatem, type EntityKind } from '../../src/index.ts';
import { startBullmqNode, type BullmqNode, type BullmqNodeOptions } from '../../src/transport/bullmq/index.ts';
import { counter, recorder } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { eventually } from './conformance.ts';

let redis: RedisHandle;
let serial = 0;
let started: BullmqNode[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(started.map((node) => node.stop({ timeoutMs: 1_000 })));
  started = [];
});
afterAll(async () => {
  await redis.stop();
});

const KINDS: EntityKind[] = [
  { kind: 'Counter', machine: counter },
  { kind: 'Recorder', machine: recorder },
];

async function cluster(count: number, options: Partial<BullmqNodeOptions> = {}, perNode: (i: number) => Partial<BullmqNodeOptions> = () => ({})): Promise<BullmqNode[]> {
  const prefix = `${redis.prefix}:{cl${++serial}}`;
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startBullmqNode({
        url: redis.url,
        prefix,
        name: `c${i}`,
        kinds: KINDS,
        partitions: 6,
        leaseMs: 2_000,
        heartbeatMs: 150,
        logger: pino({ level: 'silent' }),
        ...options,
        ...perNode(i),
      }),
    ),
  );
  started.push(...nodes);
  return nodes;
}

describe('membership', () => {
  it('lists the nodes with their liveness and shares the partitions fairly', async () => {
    const [a, b, c] = await cluster(3);
    await eventually(() => {
      const owned = [a!, b!, c!].map((node) => node.transport.ownedPartitions().length);
      expect(owned).toEqual([2, 2, 2]);
    });
    const nodes = await a!.transport.nodes({ refresh: true });
    expect(nodes.map((node) => [node.name, node.alive]).sort()).toEqual([
      ['c0', true],
      ['c1', true],
      ['c2', true],
    ]);
    expect(nodes[0]!.info?.kinds).toEqual(['Counter', 'Recorder']);

    // A node that leaves hands its partitions over at once (released, not expired).
    await c!.stop();
    started = started.filter((node) => node !== c);
    await eventually(() => expect([a!, b!].map((node) => node.transport.ownedPartitions().length)).toEqual([3, 3]), 1_500);
    expect((await a!.transport.nodes({ refresh: true })).map((node) => node.name).sort()).toEqual(['c0', 'c1']);
  });
});

describe('cluster-wide names', () => {
  it('reaches a process by a global name from any node, until the process exits', async () => {
    const [a, b] = await cluster(2);
    const pid = spawnStatem(b!.node, counter);
    expect(await b!.transport.registerGlobal('the-counter', pid)).toEqual({ ok: true });
    expect(await b!.transport.registerGlobal('the-counter', spawnStatem(b!.node, counter))).toEqual({ ok: false, error: 'taken', holder: pid });

    const found = await a!.transport.whereisGlobal('the-counter');
    expect(found).toBe(pid);
    a!.node.cast(found!, { type: 'inc' });
    expect(await a!.node.call(found!, { type: 'get' })).toEqual({ count: 1, dings: 0 });

    b!.node.exit(pid, 'kill');
    await eventually(async () => expect(await a!.transport.whereisGlobal('the-counter')).toBeUndefined());
  });

  it('refuses to register a pid of another node', async () => {
    const [a, b] = await cluster(2);
    await expect(a!.transport.registerGlobal('x', spawnStatem(b!.node, counter))).rejects.toThrow(/is not a pid of node c0/);
  });
});

describe('distributed placement', () => {
  it('runs each kind on the nodes that host it, every message a job', async () => {
    const [counters, recorders] = await cluster(2, { placement: 'distributed' }, (i) => ({ nodeKinds: [i === 0 ? 'Counter' : 'Recorder'] }));
    await eventually(() => {
      expect(counters!.transport.ownedPartitions()).toEqual(['Counter.0', 'Counter.1', 'Counter.2', 'Counter.3', 'Counter.4', 'Counter.5']);
      expect(recorders!.transport.ownedPartitions()).toEqual(['Recorder.0', 'Recorder.1', 'Recorder.2', 'Recorder.3', 'Recorder.4', 'Recorder.5']);
    });
    // One customer's two entities, on two nodes: the recorder's messages reach the counter as jobs.
    const source = { entity: 'Recorder', key: 'cust-1' };
    const target = { entity: 'Counter', key: 'cust-1' };
    counters!.node.cast(source, { type: 'send', to: target, n: 0, count: 0 });
    recorders!.node.cast(target, { type: 'inc' });
    recorders!.node.cast(target, { type: 'inc' });
    await eventually(async () => expect(await recorders!.node.call(target, { type: 'get' })).toEqual({ count: 2, dings: 0 }));
    expect(counters!.transport.cachedEntities).toBe(1);
    expect(recorders!.transport.cachedEntities).toBe(1);
  });
});

describe('passivation', () => {
  it('takes idle entities out of memory; their next message brings them back with their state', async () => {
    const [a] = await cluster(1, { passivateAfterMs: 300 });
    const address = { entity: 'Counter', key: 'idle' };
    a!.node.cast(address, { type: 'inc' });
    expect(await a!.node.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 });
    expect(a!.transport.cachedEntities).toBe(2); // sharded: the key's other kinds are loaded with it
    await eventually(() => {
      expect(a!.transport.cachedEntities).toBe(0);
      expect(a!.entities.pidOf(address)).toBeUndefined();
    }, 3_000);
    expect(await a!.node.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 });
  });
});

describe('hibernate', () => {
  it('passivates an entity that asks for it once its state is committed', async () => {
    const [a] = await cluster(1);
    const address = { entity: 'Counter', key: 'napper' };
    a!.node.cast(address, { type: 'inc' });
    a!.node.cast(address, { type: 'nap' });
    await eventually(() => expect(a!.entities.pidOf(address)).toBeUndefined());
    expect(await a!.node.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 });
  });
});

describe('dead letters', () => {
  it('lists them and replays one through the transport', async () => {
    const [a] = await cluster(1, { retryBudget: 0 });
    const address = { entity: 'Counter', key: 'fragile' };
    a!.node.cast(address, { type: 'crash' });
    const letters = await eventually(async () => {
      const list = await a!.transport.listDeadLetters();
      expect(list).toHaveLength(1);
      return list;
    });
    expect(letters[0]!.reason).toMatch(/crashed 1 times \(retry budget 0\): Error: asked to crash/);
    expect(letters[0]!.queue).toMatch(/^\{p\.\d+\}$/);

    const replayed = await a!.transport.replayDeadLetter(letters[0]!.id, {
      data: { v: 1, env: { t: 'cast', to: address, event: { type: 'inc' } } },
    });
    expect(replayed).toMatchObject({ ok: true });
    await eventually(async () => expect(await a!.node.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 }));
    expect(await a!.transport.listDeadLetters()).toEqual([]);
    expect(await a!.transport.replayDeadLetter('nope')).toEqual({ ok: false, error: 'not_found' });
  });
});

describe('Redis settings', () => {
  it('warns at start when Redis may evict keys', async () => {
    const lossy = await startRedis({ mode: 'private', args: ['--maxmemory-policy', 'allkeys-lru'] });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    try {
      const node = await startBullmqNode({ url: lossy.url, prefix: `${lossy.prefix}:{w}`, name: 'w', kinds: KINDS, logger: pino({ level: 'warn' }, sink) });
      await node.stop({ timeoutMs: 1_000 });
    } finally {
      await lossy.stop();
    }
    expect(lines.join('')).toMatch(/maxmemory-policy is \\"allkeys-lru\\": set it to \\"noeviction\\"/);
  });

  it('refuses ioredis keyPrefix, which BullMQ cannot use', async () => {
    await expect(startBullmqNode({ url: redis.url, kinds: KINDS, redis: { keyPrefix: 'x:' } })).rejects.toThrow(/use the transport option prefix/);
  });
});
