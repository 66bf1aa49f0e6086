import { describe, expect, it } from 'vitest';
import {
  InvalidSpecError,
  startSupervisor,
  supervisor,
  terminateChild,
  type AutoShutdown,
  type Pid,
} from '../../../src/index.ts';
import { crash, harness, pidOf, pidsOf, stopWith, w } from './helpers.ts';

describe('autoShutdown never (the default)', () => {
  it('rejects significant children', () => {
    const { node } = harness();
    expect(() => startSupervisor(node, { children: [w('a', { restart: 'transient', significant: true })] })).toThrow(InvalidSpecError);
  });

  it('keeps running when every child has ended by itself', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a', { restart: 'transient' }), w('b', { restart: 'temporary' })] });
    const pids = await pidsOf(node, sup);
    await stopWith(node, pids.a as Pid, 'normal');
    await stopWith(node, pids.b as Pid, 'normal');
    expect(node.isAlive(sup)).toBe(true);
    expect(await pidsOf(node, sup)).toEqual({ a: undefined });
  });
});

describe('autoShutdown any_significant', () => {
  const spec = (autoShutdown: AutoShutdown = 'any_significant') => ({
    autoShutdown,
    intensity: 5,
    children: [w('a'), w('job', { restart: 'transient' as const, significant: true }), w('c')],
  });

  it.each(['normal', 'shutdown', { shutdown: 'done' }])(
    'shuts down, children in reverse order, when a significant transient child ends with %o',
    async (reason) => {
      const { node, exits } = harness();
      const sup = startSupervisor(node, spec());
      const pids = await pidsOf(node, sup);
      exits.length = 0;
      await stopWith(node, pids.job as Pid, reason);
      expect(exits.map((e) => e.pid)).toEqual([pids.job, pids.c, pids.a, sup]);
      expect(exits.at(-1)!.reason).toBe('shutdown');
    },
  );

  it('restarts a significant transient child that crashes, and keeps running', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, spec());
    const before = await pidOf(node, sup, 'job');
    await crash(node, before);
    expect(node.isAlive(sup)).toBe(true);
    expect(await pidOf(node, sup, 'job')).not.toBe(before);
  });

  it.each(['normal', 'crash'])('shuts down when a significant temporary child ends (%s)', async (how) => {
    const { node } = harness();
    const sup = startSupervisor(node, { autoShutdown: 'any_significant', children: [w('a'), w('t', { restart: 'temporary', significant: true })] });
    const pid = await pidOf(node, sup, 't');
    if (how === 'crash') await crash(node, pid);
    else await stopWith(node, pid, 'normal');
    expect(node.isAlive(sup)).toBe(false);
  });

  it('ignores a non-significant child ending by itself', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      autoShutdown: 'any_significant',
      children: [w('plain', { restart: 'transient' }), w('job', { restart: 'transient', significant: true })],
    });
    await stopWith(node, await pidOf(node, sup, 'plain'), 'normal');
    expect(node.isAlive(sup)).toBe(true);
  });

  it('does not count a significant child stopped with terminate_child', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, spec());
    expect(await terminateChild(node, sup, 'job')).toEqual({ ok: true });
    await node.settle();
    expect(node.isAlive(sup)).toBe(true);
  });

  it('does not count a significant child taken down by a sibling under one_for_all', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      strategy: 'one_for_all',
      autoShutdown: 'any_significant',
      intensity: 5,
      children: [w('a'), w('t', { restart: 'temporary', significant: true }), w('j', { restart: 'transient', significant: true })],
    });
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(true);
    const after = await pidsOf(node, sup);
    expect(Object.keys(after)).toEqual(['a', 'j']); // the temporary one is gone, not restarted
    expect(node.isAlive(after.j as Pid)).toBe(true);
  });

  it('does not count a significant child taken down by an earlier sibling under rest_for_one', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      strategy: 'rest_for_one',
      autoShutdown: 'any_significant',
      intensity: 5,
      children: [w('a'), w('t', { restart: 'temporary', significant: true })],
    });
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(true);
    expect(Object.keys(await pidsOf(node, sup))).toEqual(['a']);
  });
});

describe('autoShutdown all_significant', () => {
  const spec = {
    autoShutdown: 'all_significant' as const,
    intensity: 5,
    children: [w('a'), w('j1', { restart: 'transient' as const, significant: true }), w('j2', { restart: 'temporary' as const, significant: true })],
  };

  it('shuts down when the last significant child has ended by itself', async () => {
    const { node, exits } = harness();
    const sup = startSupervisor(node, spec);
    const pids = await pidsOf(node, sup);
    await stopWith(node, pids.j1 as Pid, 'normal');
    expect(node.isAlive(sup)).toBe(true);
    await stopWith(node, pids.j2 as Pid, 'normal');
    expect(node.isAlive(sup)).toBe(false);
    expect(exits.slice(-2)).toEqual([
      { pid: pids.a, reason: 'shutdown' },
      { pid: sup, reason: 'shutdown' },
    ]);
  });

  it('does not shut down while a significant child is still running after a restart', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, spec);
    await crash(node, await pidOf(node, sup, 'j1')); // transient: restarted
    await stopWith(node, await pidOf(node, sup, 'j2'), 'normal');
    expect(node.isAlive(sup)).toBe(true);
    await stopWith(node, await pidOf(node, sup, 'j1'), 'normal');
    expect(node.isAlive(sup)).toBe(false);
  });

  it('does not count the last significant child when it was stopped with terminate_child', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, spec);
    await stopWith(node, await pidOf(node, sup, 'j1'), 'normal');
    expect(await terminateChild(node, sup, 'j2')).toEqual({ ok: true });
    await node.settle();
    expect(node.isAlive(sup)).toBe(true);
  });

  it('does not count significant children taken down by a sibling crash under one_for_all', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      strategy: 'one_for_all',
      autoShutdown: 'all_significant',
      intensity: 5,
      children: [w('a'), w('t', { restart: 'temporary', significant: true })],
    });
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(true);
  });
});

describe('under simple_one_for_one', () => {
  it.each(['any_significant', 'all_significant'] as const)('%s is refused at start as a bad combination (OTP bad_combination)', (autoShutdown) => {
    const { node } = harness();
    let thrown: unknown;
    try {
      startSupervisor(node, {
        strategy: 'simple_one_for_one',
        autoShutdown,
        children: [w('s', { restart: 'transient', significant: true })],
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSpecError);
    expect((thrown as InvalidSpecError).problems).toEqual([
      { where: 'autoShutdown', problem: expect.stringContaining('bad combination') },
    ]);
    expect([...node.processes()]).toEqual([]);
  });
});

describe('in a tree', () => {
  it('a transient child supervisor that shuts itself down is not restarted by its parent', async () => {
    const { node } = harness();
    const root = startSupervisor(node, {
      intensity: 0,
      children: [
        w('keeper'),
        supervisor(
          'task',
          { autoShutdown: 'any_significant', children: [w('step', { restart: 'transient', significant: true }), w('helper')] },
          { restart: 'transient' },
        ),
      ],
    });
    const task = await pidOf(node, root, 'task');
    const helper = await pidOf(node, task, 'helper');
    await stopWith(node, await pidOf(node, task, 'step'), 'normal');
    expect(node.isAlive(task)).toBe(false);
    expect(node.isAlive(helper)).toBe(false);
    expect(node.isAlive(root)).toBe(true);
    expect(await pidsOf(node, root)).toEqual({ keeper: expect.any(String), task: undefined });
  });
});
