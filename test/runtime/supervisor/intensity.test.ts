import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createNode,
  SimulatedClock,
  spawnStatem,
  startChild,
  startSupervisor,
  supervisor,
  whichChildren,
  type ChildSpec,
  type Pid,
  type SupervisorSpec,
} from '../../../src/index.ts';
import { crash, exitOf, harness, pidOf, pidsOf, w, workerMachine } from './helpers.ts';

describe('intensity exceeded', () => {
  it('terminates the other children in reverse start order, then exits with shutdown', async () => {
    const { node, exits } = harness();
    const sup = startSupervisor(node, { intensity: 1, children: [w('a'), w('b'), w('c'), w('d')] });
    await crash(node, await pidOf(node, sup, 'a')); // one restart: allowed
    const before = await pidsOf(node, sup);
    exits.length = 0;

    await crash(node, before.a as Pid); // the second within the period: too many

    expect(exits.map((e) => e.pid)).toEqual([before.a, before.d, before.c, before.b, sup]);
    expect(exits[0]!.reason).toBeInstanceOf(Error);
    expect(exits.slice(1).map((e) => e.reason)).toEqual(['shutdown', 'shutdown', 'shutdown', 'shutdown']);
    expect(node.isAlive(sup)).toBe(false);
    expect(node.stats.processes).toBe(0);
  });

  it('is an exit with shutdown that the parent sees', async () => {
    const { node, parent } = harness();
    const owner = parent();
    const sup = startSupervisor(node, { intensity: 0, children: [w('a')] }, { link: owner });
    const down = exitOf(node, sup);
    await crash(node, await pidOf(node, sup, 'a'));
    expect(down).toEqual({ exited: true, reason: 'shutdown' });
    expect(node.isAlive(owner)).toBe(true);
  });

  it('logs reached_max_restart_intensity', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const node = createNode({ clock: new SimulatedClock(), logger });
    const sup = startSupervisor(node, { intensity: 0, children: [w('a')] });
    await crash(node, await pidOf(node, sup, 'a'));
    expect(lines.some((line) => line.includes('reached_max_restart_intensity'))).toBe(true);
  });

  it('with intensity 0, the first restart is already too many', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 0, children: [w('a'), w('b')] });
    await crash(node, await pidOf(node, sup, 'b'));
    expect(node.isAlive(sup)).toBe(false);
  });

  it('counts restarts of all children together', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 2, period: 10, children: [w('a'), w('b'), w('c')] });
    await crash(node, await pidOf(node, sup, 'a'));
    await crash(node, await pidOf(node, sup, 'b'));
    expect(node.isAlive(sup)).toBe(true);
    await crash(node, await pidOf(node, sup, 'c'));
    expect(node.isAlive(sup)).toBe(false);
  });

  it('counts the restarts of simple_one_for_one children', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 1, children: [w('s')] });
    const one = await startChild(node, sup, [1]);
    const two = await startChild(node, sup, [2]);
    if (!one.ok || !two.ok) throw new Error('start_child failed');
    await crash(node, one.pid!);
    expect(node.isAlive(sup)).toBe(true);
    await crash(node, two.pid!);
    expect(node.isAlive(sup)).toBe(false);
    expect(node.stats.processes).toBe(0);
  });
});

describe('the period', () => {
  it('forgets restarts older than the period, so spaced-out crashes never add up', async () => {
    const { node, clock } = harness();
    const sup = startSupervisor(node, { intensity: 1, period: 5, children: [w('a')] });
    for (let i = 0; i < 10; i++) {
      await crash(node, await pidOf(node, sup, 'a'));
      expect(node.isAlive(sup)).toBe(true);
      clock.advance(5_500);
    }
  });

  it('is a sliding window: only the restarts inside it count', async () => {
    const { node, clock } = harness();
    const sup = startSupervisor(node, { intensity: 2, period: 5, children: [w('a')] });
    await crash(node, await pidOf(node, sup, 'a')); // t = 0
    clock.advance(3_000);
    await crash(node, await pidOf(node, sup, 'a')); // t = 3 s: two in the window
    clock.advance(3_000);
    await crash(node, await pidOf(node, sup, 'a')); // t = 6 s: the first has left, two again
    expect(node.isAlive(sup)).toBe(true);
    clock.advance(1_000);
    await crash(node, await pidOf(node, sup, 'a')); // t = 7 s: 3 s, 6 s, 7 s — three
    expect(node.isAlive(sup)).toBe(false);
  });

  it('counts every crash within the period, however slowly they come', async () => {
    const { node, clock } = harness();
    const sup = startSupervisor(node, { intensity: 3, period: 60, children: [w('a')] });
    for (let i = 0; i < 3; i++) {
      await crash(node, await pidOf(node, sup, 'a'));
      clock.advance(19_000);
    }
    expect(node.isAlive(sup)).toBe(true);
    await crash(node, await pidOf(node, sup, 'a')); // t = 57 s: the fourth within 60 s
    expect(node.isAlive(sup)).toBe(false);
  });
});

describe('defaults', () => {
  it('allow one restart in five seconds: a second crash within 5 s ends the supervisor', async () => {
    const { node, clock } = harness();
    const sup = startSupervisor(node, { children: [w('a')] });
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(true);
    clock.advance(4_999);
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(false);
  });

  it('allow one restart in five seconds: a second crash after 5 s is fine', async () => {
    const { node, clock } = harness();
    const sup = startSupervisor(node, { children: [w('a')] });
    await crash(node, await pidOf(node, sup, 'a'));
    clock.advance(5_001);
    await crash(node, await pidOf(node, sup, 'a'));
    expect(node.isAlive(sup)).toBe(true);
  });
});

describe('failed restarts', () => {
  it('count toward the intensity, each attempt, until the supervisor gives up', async () => {
    const { node, exits } = harness();
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
    const sup = startSupervisor(node, { intensity: 3, period: 60, children: [w('a'), flaky] });
    const a = await pidOf(node, sup, 'a');
    failing = true;
    await crash(node, await pidOf(node, sup, 'flaky'));
    // Restarts 1, 2 and 3 were allowed and failed; the 4th attempt is over the intensity.
    expect(attempts).toBe(1 + 3);
    expect(node.isAlive(sup)).toBe(false);
    expect(exits.slice(-2)).toEqual([
      { pid: a, reason: 'shutdown' },
      { pid: sup, reason: 'shutdown' },
    ]);
  });

  it('are retried through a message to itself, without waiting for the clock to move', async () => {
    const { node, clock } = harness();
    let failures = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: ({ node: n, supervisor: s }) => {
        if (failures-- > 0) throw new Error('cannot start');
        return spawnStatem(n, workerMachine, { link: s });
      },
    };
    const sup = startSupervisor(node, { intensity: 5, children: [flaky] });
    failures = 2;
    await crash(node, await pidOf(node, sup, 'flaky'));
    expect(clock.now()).toBe(0);
    expect(node.isAlive(await pidOf(node, sup, 'flaky'))).toBe(true);
    expect((await whichChildren(node, sup))[0]!.restarts).toBe(3);
  });

  it('are each logged with the supervisor, the child and the reason', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const node = createNode({ clock: new SimulatedClock(), logger });
    let failures = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: ({ node: n, supervisor: s }) => {
        if (failures-- > 0) throw new Error('cannot start');
        return spawnStatem(n, workerMachine, { link: s });
      },
    };
    const sup = startSupervisor(node, { intensity: 5, children: [flaky] });
    failures = 2;
    await crash(node, await pidOf(node, sup, 'flaky'));
    const failed = lines.map((line) => JSON.parse(line) as { msg: string }).filter((line) => line.msg === 'restart failed, retrying');
    expect(failed).toEqual([
      expect.objectContaining({ supervisor: sup, child: 'flaky', reason: 'Error: cannot start' }),
      expect.objectContaining({ supervisor: sup, child: 'flaky', reason: 'Error: cannot start' }),
    ]);
  });
});

describe('escalation', () => {
  const inner: SupervisorSpec = { strategy: 'one_for_one', intensity: 1, children: [w('x'), w('y')] };

  it('a child supervisor over its intensity exits with shutdown and its parent restarts it', async () => {
    const { node, exits } = harness();
    const root = startSupervisor(node, { intensity: 5, children: [w('left'), supervisor('inner', inner)] });
    const before = await pidsOf(node, root);
    const innerBefore = before.inner as Pid;
    const yBefore = await pidOf(node, innerBefore, 'y');

    await crash(node, await pidOf(node, innerBefore, 'x'));
    await crash(node, await pidOf(node, innerBefore, 'x'));

    expect(exits.find((e) => e.pid === innerBefore)?.reason).toBe('shutdown');
    expect(node.isAlive(yBefore)).toBe(false);
    const after = await pidsOf(node, root);
    expect(after.left).toBe(before.left);
    expect(after.inner).not.toBe(innerBefore);
    expect(node.isAlive(after.inner as Pid)).toBe(true);
    const fresh = await pidsOf(node, after.inner as Pid);
    expect(Object.keys(fresh)).toEqual(['x', 'y']);
    expect(Object.values(fresh).every((pid) => node.isAlive(pid as Pid))).toBe(true);
  });

  it('multiplies restarts across levels until the top gives up too', async () => {
    const { node } = harness();
    const root = startSupervisor(node, { intensity: 1, children: [supervisor('inner', inner)] });
    // Each inner death costs the root one restart; each inner death takes two crashes of x.
    for (let round = 0; round < 2; round++) {
      const innerPid = await pidOf(node, root, 'inner');
      await crash(node, await pidOf(node, innerPid, 'x'));
      await crash(node, await pidOf(node, innerPid, 'x'));
    }
    expect(node.isAlive(root)).toBe(false);
    expect(node.stats.processes).toBe(0);
  });

  it('stops at a transient child supervisor, whose shutdown is a clean exit', async () => {
    const { node } = harness();
    const root = startSupervisor(node, { intensity: 0, children: [w('left'), supervisor('inner', inner, { restart: 'transient' })] });
    const innerPid = await pidOf(node, root, 'inner');
    await crash(node, await pidOf(node, innerPid, 'x'));
    await crash(node, await pidOf(node, innerPid, 'x'));
    expect(node.isAlive(root)).toBe(true);
    expect((await pidsOf(node, root)).inner).toBeUndefined();
  });
});
