/**
 * An entity host with a heap budget (`heapBudget`): over it, the least recently used entities at
 * rest leave memory (passivated) and come back from the store on their next message, or when
 * their earliest timer falls due. The heap is the test's (`heapUsed`), so what is checked is the
 * decision and its effects, not the machine's memory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply, spawnStatem, startTimer, sys, type EntityAddress } from '../../../src/index.ts';

const MiB = 1_048_576;

const account = setup({ types: {} as { context: { key: string; n: number; rang: number }; input: { key: string } } }).createMachine({
  id: 'account',
  context: ({ input }) => ({ key: input.key, n: 0, rang: 0 }),
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: reply(({ context }) => context) },
    arm: { actions: startTimer('ring', ({ event }) => (event as unknown as { after: number }).after, { type: 'ring' }) },
    armLater: { actions: startTimer('later', ({ event }) => (event as unknown as { after: number }).after, { type: 'ring' }) },
    ring: { actions: assign({ rang: ({ context }) => context.rang + 1 }) },
  },
});

const at = (key: string): EntityAddress => ({ entity: 'Account', key });

interface Logged {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function world(options: { heapUsed?: () => number; checkMs?: number; budget?: number; isCommitted?: (a: EntityAddress) => boolean; hibernate?: boolean; processHeap?: boolean } = {}) {
  const clock = new SimulatedClock(1_000_000);
  const logged: Logged[] = [];
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => logged.push({ level, fields, message });
  const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: () => {} };
  const node = createNode({ clock, logger: logger as never });
  const store = new MemoryStore();
  const restore = (a: EntityAddress) => store.get(a)?.state;
  const heap = { used: 0 };
  const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
    restore,
    commit: (a, persist) => store.set(a, persist()),
    heapBudget: { budget: options.budget ?? 100 * MiB, ...(!options.processHeap && { heapUsed: options.heapUsed ?? (() => heap.used) }), ...(options.checkMs !== undefined && { checkMs: options.checkMs }) },
    ...((options.isCommitted || options.hibernate) && { hibernation: { committed: restore, afterMs: 3_600_000, ...(options.isCommitted && { isCommitted: options.isCommitted }) } }),
  });
  const resident = () => node.registered().filter((name) => name.startsWith('entity:'));
  return { clock, node, store, host, heap, logged, resident };
}

describe('an entity host within its heap budget', () => {
  it('passivates nothing and logs nothing', async () => {
    const { node, host, heap, logged, resident } = world();
    node.cast(at('a'), { type: 'inc' });
    heap.used = 100 * MiB; // at the budget is within it
    expect(await host.checkHeap()).toBe(0);
    expect(resident()).toEqual(['entity:Account/a']);
    expect(host.passivations()).toEqual({ idle: 0, memory: 0 });
    expect(logged.filter((l) => l.level === 'info')).toEqual([]);
  });
});

describe('an entity host without a heap budget', () => {
  it('passivates nothing when asked to check', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], { commit: () => {} });
    node.cast(at('a'), { type: 'inc' });
    expect(await host.checkHeap()).toBe(0);
    expect(host.pidOf(at('a'))).toBeDefined();
  });
});

describe('an entity host over its heap budget', () => {
  it('passivates the entities at rest, counts and logs it, and each comes back whole on its next message', async () => {
    const { node, host, heap, logged, resident } = world();
    for (const key of ['a', 'b', 'c']) {
      node.cast(at(key), { type: 'inc' });
      node.cast(at(key), { type: 'inc' });
    }
    heap.used = Math.round(1_234.56 * MiB); // far over: every entity at rest goes
    expect(await host.checkHeap()).toBe(3);
    expect(resident()).toEqual([]);
    expect(host.passivations()).toEqual({ idle: 0, memory: 3 });
    expect(logged.filter((l) => l.level === 'info')).toEqual([
      {
        level: 'info',
        // In MiB to a tenth.
        fields: { heapUsedMb: 1_234.6, heapBudgetMb: 100, residents: 3, passivated: 3, passivatedForMemory: 3 },
        message: 'heap over its budget: passivated the least recently used idle entities',
      },
    ]);
    heap.used = 0;
    for (const key of ['a', 'b', 'c']) expect(await node.call(at(key), { type: 'get' })).toEqual({ key, n: 2, rang: 0 });
  });

  it('ends a passivated entity with {shutdown: passivated}, not restarted, and sets no wake-up for one without timers', async () => {
    const { clock, node, host, heap } = world();
    node.cast(at('a'), { type: 'inc' });
    const reasons: unknown[] = [];
    node.monitor(host.pidOf(at('a'))!, (down) => reasons.push(down.reason));
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(reasons).toEqual([{ shutdown: 'passivated' }]);
    expect(host.pidOf(at('a'))).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('leaves alone the node’s actors that are not entities', async () => {
    const { node, host, heap } = world();
    const other = spawnStatem(node, account, { input: { key: 'x' } });
    node.cast(other, { type: 'inc' });
    node.cast(at('a'), { type: 'inc' });
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(node.isAlive(other)).toBe(true);
  });

  it('skips an entity that left memory after the check chose it', async () => {
    const { node, host, heap, resident } = world();
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    const a = host.pidOf(at('a'))!;
    node.onExit((pid) => pid === a && host.passivate(at('b'))); // as a goes, b goes too, by other hands
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual([]);
  });

  it('keeps an entity that stopped being at rest after the check chose it', async () => {
    const { node, host, heap, resident } = world();
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    const a = host.pidOf(at('a'))!;
    const b = host.pidOf(at('b'))!;
    // As a goes, b gets busy (suspended here; a message under way would do the same).
    node.onExit((pid) => pid === a && sys.suspend(node, b));
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual(['entity:Account/b']);
  });

  it('counts passivations across checks, and hands out a copy of its counts', async () => {
    const { node, host, heap } = world();
    node.cast(at('a'), { type: 'inc' });
    heap.used = 1_000 * MiB;
    await host.checkHeap();
    const counts = host.passivations();
    counts.memory = 99;
    node.cast(at('b'), { type: 'inc' });
    expect(await host.checkHeap()).toBe(1);
    expect(host.passivations()).toEqual({ idle: 0, memory: 2 });
  });

  it('passivates the least recently used first: a hibernated entity before one that was used since the sweep', async () => {
    const { node, host, heap, resident } = world({ hibernate: true });
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    host.hibernateIdle();
    node.cast(at('a'), { type: 'inc' }); // a is used again; b stays idle and hibernates
    expect(host.hibernateIdle()).toBe(1);
    expect(host.processOf(at('b'))?.hibernated).toBe(true);
    heap.used = 100 * MiB + 1; // barely over: one goes
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual(['entity:Account/a']);
  });

  it('keeps an entity whose memory is ahead of its store, and passivates it once it has caught up', async () => {
    const behind = new Set(['b']);
    const { node, host, heap, resident } = world({ isCommitted: (a) => !behind.has(a.key) });
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual(['entity:Account/b']);
    behind.clear();
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual([]);
  });

  it('passivates nothing and logs nothing when every entity is busy', async () => {
    const { node, host, heap, logged, resident } = world();
    node.cast(at('a'), { type: 'inc' });
    sys.suspend(node, host.pidOf(at('a'))!);
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(0);
    expect(resident()).toEqual(['entity:Account/a']);
    expect(logged).toEqual([]);
  });

  it('keeps an entity that is not at rest (a suspended one, its mailbox waiting)', async () => {
    const { node, host, heap, resident } = world();
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    sys.suspend(node, host.pidOf(at('b'))!);
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    expect(resident()).toEqual(['entity:Account/b']);
  });

  it('runs one check at a time: a check asked for while one runs passivates nothing', async () => {
    const { node, host, heap } = world();
    for (const key of ['a', 'b']) node.cast(at(key), { type: 'inc' });
    heap.used = 1_000 * MiB;
    expect(await Promise.all([host.checkHeap(), host.checkHeap()])).toEqual([2, 0]);
    node.cast(at('c'), { type: 'inc' });
    expect(await host.checkHeap()).toBe(1); // the first one is over: the next runs
  });

  it('wakes an entity passivated with timers pending when its earliest one falls due, which fires then', async () => {
    const { clock, node, host, heap } = world();
    node.cast(at('a'), { type: 'armLater', after: 90_000 });
    node.cast(at('a'), { type: 'arm', after: 60_000 });
    heap.used = 1_000 * MiB;
    expect(await host.checkHeap()).toBe(1);
    heap.used = 0;
    clock.advance(59_999);
    expect(host.pidOf(at('a'))).toBeUndefined();
    clock.advance(1);
    expect(host.pidOf(at('a'))).toBeDefined();
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 0, rang: 1 });
    clock.advance(30_000);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 0, rang: 2 });
  });

  it('keeps one wake-up per entity: passivated again before it fell due, the earlier wake-up is replaced', async () => {
    const { clock, node, host, heap } = world();
    node.cast(at('a'), { type: 'arm', after: 60_000 });
    heap.used = 1_000 * MiB;
    await host.checkHeap();
    const pending = clock.pending; // the wake-up
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 0, rang: 0 }); // back before it is due
    expect(await host.checkHeap()).toBe(1);
    expect(clock.pending).toBe(pending);
    clock.advance(60_000);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 0, rang: 1 });
    expect(clock.pending).toBe(0);
  });

  it('without heapUsed, weighs the heap of this process', async () => {
    const small = world({ processHeap: true, budget: 1 });
    small.node.cast(at('a'), { type: 'inc' });
    expect(await small.host.checkHeap()).toBe(1);
    const large = world({ processHeap: true, budget: 2 ** 50 });
    large.node.cast(at('a'), { type: 'inc' });
    expect(await large.host.checkHeap()).toBe(0);
  });
});

/**
 * The heap checks run on Node's timers (memory is the process's concern, whatever the node's
 * clock does): faked here, so nothing waits.
 */
describe('the heap checks of an entity host', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('log a check that failed as a warning and carry on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let fail = true;
    const { node, logged, resident } = world({
      checkMs: 5,
      heapUsed: () => {
        if (fail) throw new Error('no heap today');
        return 1_000 * MiB;
      },
    });
    node.cast(at('a'), { type: 'inc' });
    await vi.advanceTimersByTimeAsync(5);
    expect(logged).toEqual([{ level: 'warn', fields: { err: new Error('no heap today') }, message: 'heap budget check failed' }]);
    fail = false;
    await vi.advanceTimersByTimeAsync(5);
    expect(resident()).toEqual([]);
    await node.stop();
  });

  it('stop with the host, and so do the wake-ups of its passivated entities', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let checks = 0;
    const { clock, node, host } = world({ checkMs: 5, heapUsed: () => (checks++, 1_000 * MiB) });
    node.cast(at('a'), { type: 'arm', after: 60_000 });
    await vi.advanceTimersByTimeAsync(5);
    expect(host.passivations().memory).toBe(1);
    await node.stop();
    expect(clock.pending).toBe(0);
    const before = checks;
    await vi.advanceTimersByTimeAsync(50);
    expect(checks).toBe(before);
    clock.advance(60_000);
    expect(host.pidOf(at('a'))).toBeUndefined();
  });
});
