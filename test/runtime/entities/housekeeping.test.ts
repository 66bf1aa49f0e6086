/**
 * The entity host's housekeeping on real time (memory is the process's concern, whatever the
 * node's clock does): the hibernation sweep and the heap checks run on their own, never keep the
 * process alive, and end with the host. Node's timers are faked here (the node's own clock is a
 * simulated one), so nothing waits.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply, type EntityAddress, type EntityHostOptions } from '../../../src/index.ts';

const account = setup({ types: {} as { context: { key: string; n: number }; input: { key: string } } }).createMachine({
  id: 'account',
  context: ({ input }) => ({ key: input.key, n: 0 }),
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: reply(({ context }) => context) },
  },
});

const at = (key: string): EntityAddress => ({ entity: 'Account', key });

function world(options: Omit<EntityHostOptions, 'restore' | 'commit'> = {}) {
  const node = createNode({ clock: new SimulatedClock() });
  const store = new MemoryStore();
  const restore = (a: EntityAddress) => store.get(a)?.state;
  const create = () =>
    new EntityHost(node, [{ kind: 'Account', machine: account }], {
      restore,
      commit: (a, persist) => store.set(a, persist()),
      ...options,
    });
  return { node, store, restore, create };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the hibernation sweep', () => {
  it('runs every afterMs on its own: an entity idle for a whole sweep hibernates', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { node, create } = world({ hibernation: { committed: () => undefined, afterMs: 1_000 } });
    const host = create();
    node.cast(at('a'), { type: 'inc' });
    vi.advanceTimersByTime(1_000); // the first sweep marks it
    expect(host.hibernatedCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(host.hibernatedCount()).toBe(1);
  });

  it('keeps running when entities exit', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { node, create } = world({ hibernation: { committed: () => undefined, afterMs: 1_000 } });
    const host = create();
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('b'), { type: 'inc' });
    host.passivate(at('b'));
    vi.advanceTimersByTime(2_000);
    expect(host.processOf(at('a'))?.hibernated).toBe(true);
    expect(host.hibernatedCount()).toBe(1);
  });

  it('ends with the host, as do the heap checks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = vi.getTimerCount();
    const { node, create } = world({ hibernation: { committed: () => undefined, afterMs: 1_000 }, heapBudget: { budget: 2 ** 50, checkMs: 1_000 } });
    create();
    expect(vi.getTimerCount()).toBe(before + 2);
    vi.advanceTimersByTime(5_000); // each re-arms itself
    expect(vi.getTimerCount()).toBe(before + 2);
    await node.stop();
    expect(vi.getTimerCount()).toBe(before);
  });
});

describe('the heap checks', () => {
  it('run every checkMs on their own, once a second by default', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    for (const [checkMs, due] of [
      [200, 200],
      [undefined, 1_000],
    ] as const) {
      const { node, create } = world({ heapBudget: { budget: 1, heapUsed: () => 2, ...(checkMs !== undefined && { checkMs }) } });
      const host = create();
      node.cast(at('a'), { type: 'inc' });
      vi.advanceTimersByTime(due - 1);
      expect(host.pidOf(at('a'))).toBeDefined();
      vi.advanceTimersByTime(1);
      expect(host.pidOf(at('a'))).toBeUndefined();
    }
  });
});

describe('the housekeeping timers', () => {
  it('never keep the process alive', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
    const { node, create } = world({ hibernation: { committed: () => undefined, afterMs: 60_000 }, heapBudget: { budget: 2 ** 50, checkMs: 60_000 } });
    const before = timers();
    create();
    expect(timers()).toBe(before);
    await node.stop();
  });
});
