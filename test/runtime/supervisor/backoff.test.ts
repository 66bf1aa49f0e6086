import { describe, expect, it } from 'vitest';
import {
  countChildren,
  restartChild,
  spawnStatem,
  startChild,
  startSupervisor,
  sys,
  terminateChild,
  whichChildren,
  type BackoffOptions,
  type ChildSpec,
  type Node,
  type Pid,
  type SimulatedClock,
} from '../../../src/index.ts';
import { crash, exitOf, harness, pidsOf, w, workerMachine } from './helpers.ts';

const backoff: BackoffOptions = { minMs: 100, maxMs: 1_000 };

async function stateOf(node: Node, sup: Pid, id: string) {
  return (await pidsOf(node, sup))[id];
}

/**
 * Asserts the child `id` stays `restarting` until exactly `delay` ms have passed, then runs
 * again with a new pid, which it returns.
 */
async function expectRestartAfter(node: Node, clock: SimulatedClock, sup: Pid, id: string, delay: number): Promise<Pid> {
  expect(await stateOf(node, sup, id)).toBe('restarting');
  clock.advance(delay - 1);
  await node.settle();
  expect(await stateOf(node, sup, id), `still restarting at ${delay - 1} ms`).toBe('restarting');
  clock.advance(1);
  await node.settle();
  const pid = await stateOf(node, sup, id);
  expect(typeof pid === 'string' && pid.startsWith('<'), `running at ${delay} ms`).toBe(true);
  expect(node.isAlive(pid as Pid)).toBe(true);
  return pid as Pid;
}

describe('restart backoff', () => {
  it('keeps a crashed child restarting until the first delay has passed', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 100, period: 3_600, backoff, children: [w('a'), w('b')] });
    const before = await pidsOf(node, sup);

    await crash(node, before.a as Pid);

    expect(await countChildren(node, sup)).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
    expect((await whichChildren(node, sup))[0]).toMatchObject({ id: 'a', pid: 'restarting' });
    const after = await expectRestartAfter(node, clock, sup, 'a', 100);
    expect(after).not.toBe(before.a);
    expect(await stateOf(node, sup, 'b')).toBe(before.b);
  });

  it('doubles the delay on each crash in a row, up to maxMs', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 100, period: 3_600, backoff, children: [w('a')] });
    let pid = (await stateOf(node, sup, 'a')) as Pid;
    for (const delay of [100, 200, 400, 800, 1_000, 1_000]) {
      await crash(node, pid);
      pid = await expectRestartAfter(node, clock, sup, 'a', delay);
    }
  });

  it('starts again from minMs after the child ran for resetAfterMs', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, {
      intensity: 100,
      period: 3_600,
      backoff: { ...backoff, resetAfterMs: 5_000 },
      children: [w('a')],
    });
    let pid = (await stateOf(node, sup, 'a')) as Pid;
    for (const delay of [100, 200, 400]) {
      await crash(node, pid);
      pid = await expectRestartAfter(node, clock, sup, 'a', delay);
    }
    clock.advance(4_999); // not quite long enough
    await crash(node, pid);
    pid = await expectRestartAfter(node, clock, sup, 'a', 800);

    clock.advance(5_000); // long enough
    await crash(node, pid);
    pid = await expectRestartAfter(node, clock, sup, 'a', 100);
    await crash(node, pid);
    await expectRestartAfter(node, clock, sup, 'a', 200);
  });

  it('resets after maxMs of running by default', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 100, period: 3_600, backoff, children: [w('a')] });
    let pid = (await stateOf(node, sup, 'a')) as Pid;
    await crash(node, pid);
    pid = await expectRestartAfter(node, clock, sup, 'a', 100);
    await crash(node, pid);
    pid = await expectRestartAfter(node, clock, sup, 'a', 200);
    clock.advance(1_000);
    await crash(node, pid);
    await expectRestartAfter(node, clock, sup, 'a', 100);
  });

  it('adds jitter drawn from the node’s random source', async () => {
    const draws: number[] = [];
    const { node, clock } = harness({ random: () => (draws.push(0.5), 0.5) });
    const sup = startSupervisor(node, { intensity: 100, period: 3_600, backoff: { ...backoff, jitter: 0.2 }, children: [w('a')] });
    let pid = (await stateOf(node, sup, 'a')) as Pid;
    await crash(node, pid);
    pid = await expectRestartAfter(node, clock, sup, 'a', 110); // 100 · (1 + 0.2 · 0.5)
    await crash(node, pid);
    await expectRestartAfter(node, clock, sup, 'a', 220);
    expect(draws).toHaveLength(2);
  });

  it('still counts every crash toward the intensity, at the time of the crash', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 2, period: 60, backoff, children: [w('a')] });
    let pid = (await stateOf(node, sup, 'a')) as Pid;
    for (const delay of [100, 200]) {
      await crash(node, pid);
      pid = await expectRestartAfter(node, clock, sup, 'a', delay);
    }
    await crash(node, pid);
    expect(node.isAlive(sup)).toBe(false);
  });

  it('counts each failed restart attempt toward the intensity and waits the next delay before retrying', async () => {
    const { node, clock } = harness({ random: () => 0 });
    let attempts = 0;
    let failing = false;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: ({ node: n, supervisor: s }) => {
        attempts++;
        if (failing) throw new Error('cannot start');
        return spawnStatem(n, workerMachine, { link: s });
      },
    };
    const sup = startSupervisor(node, { intensity: 3, period: 60, backoff, children: [flaky] });
    const supExit = exitOf(node, sup);
    failing = true;
    await crash(node, (await stateOf(node, sup, 'flaky')) as Pid); // restart 1, after 100 ms
    expect(attempts).toBe(1);

    const step = async (ms: number) => {
      clock.advance(ms);
      await node.settle();
    };
    await step(99);
    expect(attempts).toBe(1);
    await step(1); // attempt at 100 ms fails: restart 2, after 200 ms
    expect(attempts).toBe(2);
    expect(await stateOf(node, sup, 'flaky')).toBe('restarting');
    await step(199);
    expect(attempts).toBe(2);
    await step(1); // attempt at 300 ms fails: restart 3, after 400 ms
    expect(attempts).toBe(3);
    expect(node.isAlive(sup)).toBe(true);
    await step(399); // the delay keeps growing while the attempts keep failing
    expect(attempts).toBe(3);
    await step(1); // attempt at 700 ms fails: a 4th restart is over the intensity
    expect(attempts).toBe(4);
    expect(node.isAlive(sup)).toBe(false);
    expect(supExit).toEqual({ exited: true, reason: 'shutdown' });
  });

  it('grows the delay up to maxMs while the restart attempts keep failing', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const times: number[] = [];
    let failing = false;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: ({ node: n, supervisor: s }) => {
        if (failing) {
          times.push(clock.now());
          throw new Error('cannot start');
        }
        return spawnStatem(n, workerMachine, { link: s });
      },
    };
    const sup = startSupervisor(node, { intensity: 100, period: 3_600, backoff, children: [flaky] });
    failing = true;
    await crash(node, (await stateOf(node, sup, 'flaky')) as Pid);
    for (let i = 0; i < 60; i++) {
      clock.advance(50);
      await node.settle();
    }
    // In 3 s, attempts 100, 200, 400, 800 and 1 000 ms apart: never shorter than the one before.
    expect(times.map((t, i) => t - (times[i - 1] ?? 0))).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('answers restarting to restart_child while the delay runs', async () => {
    const { node } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 5, backoff, children: [w('a')] });
    await crash(node, (await stateOf(node, sup, 'a')) as Pid);
    expect(await restartChild(node, sup, 'a')).toEqual({ ok: false, error: 'restarting' });
  });

  it('cancels the pending restart when the child is terminated meanwhile', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { intensity: 5, backoff, children: [w('a')] });
    await crash(node, (await stateOf(node, sup, 'a')) as Pid);
    expect(clock.pending).toBe(1); // the delayed restart
    expect(await terminateChild(node, sup, 'a')).toEqual({ ok: true });
    expect(clock.pending, 'the restart timer is cleared with the restart').toBe(0);
    clock.advance(10_000);
    await node.settle();
    expect(await stateOf(node, sup, 'a')).toBeUndefined();
    expect(node.stats.processes).toBe(1);
  });

  it('starts nothing when the delay ends after the supervisor has gone', async () => {
    const { node, clock, parent } = harness({ random: () => 0 });
    const owner = parent();
    const sup = startSupervisor(node, { intensity: 5, backoff, children: [w('a'), w('b')] }, { link: owner });
    await crash(node, (await stateOf(node, sup, 'a')) as Pid);
    node.exit(sup, 'shutdown', owner);
    await node.settle();
    clock.advance(10_000);
    await node.settle();
    expect(node.stats.processes).toBe(1); // the parent
  });

  it('leaves no restart timer armed once it has exited, whether shut down or killed', async () => {
    for (const ending of ['shutdown', 'kill'] as const) {
      const { node, clock, parent } = harness({ random: () => 0 });
      const owner = parent();
      const sup = startSupervisor(node, { intensity: 5, backoff, children: [w('a'), w('b')] }, { link: owner });
      await crash(node, (await stateOf(node, sup, 'a')) as Pid);
      await crash(node, (await stateOf(node, sup, 'b')) as Pid);
      expect(clock.pending).toBe(2);
      node.exit(sup, ending, owner);
      await node.settle();
      expect(node.isAlive(sup)).toBe(false);
      expect(clock.pending, `after ${ending}`).toBe(0);
    }
  });

  it('restarts a simple_one_for_one child with its arguments after the delay', async () => {
    const { node, clock } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 5, backoff, children: [w('s')] });
    const started = await startChild(node, sup, [{ n: 7 }]);
    if (!started.ok) throw new Error('start_child failed');
    await crash(node, started.pid!);
    clock.advance(99);
    await node.settle();
    clock.advance(1);
    await node.settle();
    const rows = await whichChildren(node, sup);
    expect(rows).toHaveLength(1);
    expect(sys.getState(node, rows[0]!.pid as Pid)).toMatchObject({ context: { input: { n: 7 } } });
  });

  it('lists a simple_one_for_one child waiting for its restart as restarting, as OTP does', async () => {
    const { node } = harness({ random: () => 0 });
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 5, backoff, children: [w('s')] });
    const one = await startChild(node, sup, [1]);
    await startChild(node, sup, [2]);
    if (!one.ok) throw new Error('start_child failed');
    await crash(node, one.pid!);
    const pids = (await whichChildren(node, sup)).map((r) => r.pid);
    expect(pids).toHaveLength(2);
    expect(pids.filter((pid) => pid === 'restarting')).toHaveLength(1);
    expect(await countChildren(node, sup)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 2 });
  });
});
