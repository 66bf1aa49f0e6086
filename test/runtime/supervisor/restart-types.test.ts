import { describe, expect, it } from 'vitest';
import {
  countChildren,
  getChildspec,
  restartChild,
  startChild,
  startSupervisor,
  terminateChild,
  whichChildren,
  type Node,
  type Pid,
  type RestartType,
  type Strategy,
} from '../../../src/index.ts';
import { harness, pidOf, pidsOf, w } from './helpers.ts';

/** Ways a child can end, each with the reason its supervisor sees. */
const endings: Record<string, { reason: (r: unknown) => boolean; end: (node: Node, pid: Pid) => void }> = {
  'normal (stop)': { reason: (r) => r === 'normal', end: (node, pid) => node.cast(pid, { type: 'stop', reason: 'normal' }) },
  'normal (final state)': { reason: (r) => r === 'normal', end: (node, pid) => node.cast(pid, { type: 'done' }) },
  shutdown: { reason: (r) => r === 'shutdown', end: (node, pid) => node.cast(pid, { type: 'stop', reason: 'shutdown' }) },
  '{shutdown, x}': {
    reason: (r) => typeof r === 'object' && r !== null && 'shutdown' in r,
    end: (node, pid) => node.cast(pid, { type: 'stop', reason: { shutdown: 'drained' } }),
  },
  'error (a throw)': { reason: (r) => r instanceof Error, end: (node, pid) => node.cast(pid, { type: 'crash' }) },
  'killed (kill)': { reason: (r) => r === 'killed', end: (node, pid) => node.exit(pid, 'kill') },
  'an abnormal reason': { reason: (r) => r === 'oops', end: (node, pid) => node.cast(pid, { type: 'stop', reason: 'oops' }) },
};
const clean = ['normal (stop)', 'normal (final state)', 'shutdown', '{shutdown, x}'];
const abnormal = ['error (a throw)', 'killed (kill)', 'an abnormal reason'];

/** Starts `a`, the child under test `x` with `restart`, and `c`; ends `x` as `how` says. */
async function endChild(restart: RestartType, how: string, strategy: Strategy = 'one_for_one') {
  const h = harness();
  const { node, exits } = h;
  const sup = startSupervisor(node, { strategy, intensity: 5, children: [w('a'), w('x', { restart }), w('c')] });
  const before = await pidsOf(node, sup);
  endings[how]!.end(node, before.x as Pid);
  await node.settle();
  const exit = exits.find((e) => e.pid === before.x);
  expect(exit, 'the child exited').toBeDefined();
  expect(endings[how]!.reason(exit!.reason), `reason ${String(exit!.reason)}`).toBe(true);
  return { ...h, sup, before, after: await pidsOf(node, sup) };
}

describe('permanent children', () => {
  it.each([...clean, ...abnormal])('are restarted after %s', async (how) => {
    const { node, sup, before, after } = await endChild('permanent', how);
    expect(after.x).not.toBe(before.x);
    expect(node.isAlive(after.x as Pid)).toBe(true);
    expect(after.a).toBe(before.a);
    expect(node.isAlive(sup)).toBe(true);
  });
});

describe('transient children', () => {
  it.each(clean)('are not restarted after %s, and keep their spec', async (how) => {
    const { node, sup, before, after } = await endChild('transient', how);
    expect(after).toEqual({ a: before.a, x: undefined, c: before.c });
    expect(await getChildspec(node, sup, 'x')).toMatchObject({ ok: true, spec: { id: 'x', restart: 'transient' } });
    expect(await countChildren(node, sup)).toEqual({ specs: 3, active: 2, supervisors: 0, workers: 3 });
    // The kept spec can be started again by hand.
    const restarted = await restartChild(node, sup, 'x');
    expect(restarted.ok).toBe(true);
    expect(node.isAlive(await pidOf(node, sup, 'x'))).toBe(true);
  });

  it.each(abnormal)('are restarted after %s', async (how) => {
    const { node, before, after } = await endChild('transient', how);
    expect(after.x).not.toBe(before.x);
    expect(node.isAlive(after.x as Pid)).toBe(true);
    expect(after.c).toBe(before.c);
  });

  it('do not spend restart intensity when they end cleanly', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 0, children: [w('x', { restart: 'transient' })] });
    for (let i = 0; i < 3; i++) {
      node.cast(await pidOf(node, sup, 'x'), { type: 'stop', reason: 'normal' });
      await node.settle();
      expect(await restartChild(node, sup, 'x')).toMatchObject({ ok: true });
    }
    expect(node.isAlive(sup)).toBe(true);
  });

  it('under simple_one_for_one are forgotten after a clean exit and restarted after a crash', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 5, children: [w('s', { restart: 'transient' })] });
    const one = await startChild(node, sup, [1]);
    const two = await startChild(node, sup, [2]);
    if (!one.ok || !two.ok) throw new Error('start_child failed');
    node.cast(one.pid!, { type: 'stop', reason: 'normal' });
    node.cast(two.pid!, { type: 'crash' });
    await node.settle();
    const rows = await whichChildren(node, sup);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.pid).not.toBe(two.pid);
    expect(node.isAlive(rows[0]!.pid as Pid)).toBe(true);
  });
});

describe('temporary children', () => {
  it.each([...clean, ...abnormal])('are never restarted, after %s, and their spec is removed', async (how) => {
    const { node, sup, before, after } = await endChild('temporary', how);
    expect(after).toEqual({ a: before.a, c: before.c });
    expect(await getChildspec(node, sup, 'x')).toMatchObject({ ok: false, error: 'not_found' });
    expect(await restartChild(node, sup, 'x')).toMatchObject({ ok: false, error: 'not_found' });
    expect(await countChildren(node, sup)).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  it('do not spend restart intensity when they crash', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 0, children: [w('a'), w('x', { restart: 'temporary' })] });
    node.cast(await pidOf(node, sup, 'x'), { type: 'crash' });
    await node.settle();
    expect(node.isAlive(sup)).toBe(true);
  });

  it.each<Strategy>(['one_for_all', 'rest_for_one'])(
    'are not restarted under %s when a sibling crash takes them down, and their spec is removed',
    async (strategy) => {
      const { node, exits } = harness();
      const sup = startSupervisor(node, { strategy, intensity: 5, children: [w('a'), w('x', { restart: 'temporary' }), w('c')] });
      const before = await pidsOf(node, sup);

      node.cast(before.a as Pid, { type: 'crash' });
      await node.settle();

      expect(exits.find((e) => e.pid === before.x)?.reason).toBe('shutdown');
      const after = await pidsOf(node, sup);
      expect(Object.keys(after)).toEqual(['a', 'c']);
      expect(after.a).not.toBe(before.a);
      expect(after.c).not.toBe(before.c);
      expect(await getChildspec(node, sup, 'x')).toMatchObject({ ok: false, error: 'not_found' });
    },
  );

  it('that return ignore from start are not kept (OTP keeps the spec only for non-temporary children)', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      children: [
        { id: 'kept', restart: 'transient', start: () => 'ignore' },
        { id: 'gone', restart: 'temporary', start: () => 'ignore' },
      ],
    });
    expect(await whichChildren(node, sup)).toEqual([{ id: 'kept', pid: undefined, type: 'worker', restarts: 0 }]);
    expect(await startChild(node, sup, { id: 'later', restart: 'temporary', start: () => 'ignore' })).toEqual({ ok: true, pid: undefined });
    expect((await whichChildren(node, sup)).map((r) => r.id)).toEqual(['kept']);
  });
});

describe('exit reasons of a child the supervisor stops', () => {
  it('is shutdown for a default child, and the child is not restarted for it', async () => {
    const { node, exits } = harness();
    const sup = startSupervisor(node, { intensity: 0, children: [w('a')] });
    const pid = await pidOf(node, sup, 'a');
    expect(await terminateChild(node, sup, 'a')).toEqual({ ok: true });
    await node.settle();
    expect(exits.find((e) => e.pid === pid)?.reason).toBe('shutdown');
    expect(node.isAlive(sup)).toBe(true);
    expect((await pidsOf(node, sup)).a).toBeUndefined();
  });
});
