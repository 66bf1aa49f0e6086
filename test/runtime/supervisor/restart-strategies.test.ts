import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  countChildren,
  createNode,
  SimulatedClock,
  deleteChild,
  getChildspec,
  restartChild,
  spawnStatem,
  startChild,
  startSupervisor,
  supervisor,
  sys,
  terminateChild,
  whichChildren,
  worker,
  SupervisorProcess,
  type ChildSpec,
  type Node,
  type Pid,
} from '../../../src/index.ts';
import { crash, harness, pidOf, pidsOf, stopWith, stubborn, tick, w, workerMachine } from './helpers.ts';

describe('one_for_one', () => {
  it('restarts only the child that died; its siblings keep their pids', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'one_for_one', intensity: 5, children: [w('a'), w('b'), w('c')] });
    const before = await pidsOf(node, sup);

    await crash(node, await pidOf(node, sup, 'b'));

    const after = await pidsOf(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.c).toBe(before.c);
    expect(after.b).not.toBe(before.b);
    expect(node.isAlive(after.b as Pid)).toBe(true);
    expect(node.isAlive(before.b as Pid)).toBe(false);
  });

  it('is the default strategy', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 5, children: [w('a'), w('b')] });
    const before = await pidsOf(node, sup);
    await crash(node, before.a as Pid);
    const after = await pidsOf(node, sup);
    expect(after.b).toBe(before.b);
    expect(after.a).not.toBe(before.a);
  });

  it('keeps the children in start order across restarts and counts each restart of a slot', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 5, children: [w('a'), w('b'), w('c')] });
    await crash(node, await pidOf(node, sup, 'a'));
    await crash(node, await pidOf(node, sup, 'a'));
    const rows = await whichChildren(node, sup);
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(rows.map((r) => r.restarts)).toEqual([2, 0, 0]);
    expect(sys.statistics(node, rows[0]!.pid as Pid).restarts).toBe(2);
  });

  it('restarts a child that reached its final state (a permanent child ending normally)', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 5, children: [w('a')] });
    const before = await pidOf(node, sup, 'a');
    node.cast(before, { type: 'done' });
    await node.settle();
    const after = await pidOf(node, sup, 'a');
    expect(after).not.toBe(before);
  });
});

describe('named children', () => {
  it.each<'one_for_one' | 'one_for_all' | 'rest_for_one'>(['one_for_one', 'one_for_all', 'rest_for_one'])(
    'get their names back when restarted under %s',
    async (strategy) => {
      const { node } = harness();
      const sup = startSupervisor(node, {
        strategy,
        intensity: 5,
        children: [worker('a', workerMachine, { name: 'door' }), worker('b', workerMachine, { name: 'alarm' })],
      });
      const before = { door: node.whereis('door'), alarm: node.whereis('alarm') };
      await crash(node, before.door!);
      const after = await pidsOf(node, sup);
      expect(node.whereis('door')).toBe(after.a);
      expect(node.whereis('door')).not.toBe(before.door);
      expect(node.whereis('alarm')).toBe(after.b);
    },
  );

  it('a named child supervisor is registered again when its parent restarts it', async () => {
    const { node } = harness();
    const root = startSupervisor(node, { intensity: 5, children: [supervisor('inner', { intensity: 0, children: [w('x')] }, { name: 'inner' })] });
    const before = node.whereis('inner')!;
    await crash(node, await pidOf(node, before, 'x'));
    expect(node.whereis('inner')).toBe(await pidOf(node, root, 'inner'));
    expect(node.whereis('inner')).not.toBe(before);
  });
});

describe('one_for_all', () => {
  it('terminates every other child in reverse start order, then restarts all in start order', async () => {
    const { node, exits } = harness();
    const sup = startSupervisor(node, { strategy: 'one_for_all', intensity: 5, children: [w('a'), w('b'), w('c'), w('d')] });
    const before = await pidsOf(node, sup);
    exits.length = 0;

    await crash(node, before.b as Pid);

    // b crashed; the others are shut down right to left.
    expect(exits.map((e) => e.pid)).toEqual([before.b, before.d, before.c, before.a]);
    expect(exits.slice(1).map((e) => e.reason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    const after = await pidsOf(node, sup);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(after[id]).not.toBe(before[id]);
      expect(node.isAlive(after[id] as Pid)).toBe(true);
    }
    // Restarted left to right: pids are allocated in start order.
    const serial = (pid: unknown) => Number(String(pid).slice(String(pid).lastIndexOf('.') + 1, -1));
    const serials = ['a', 'b', 'c', 'd'].map((id) => serial(after[id]));
    expect(serials).toEqual([...serials].sort((x, y) => x - y));
  });

  it('also starts a sibling that was stopped with terminate_child (as OTP does)', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'one_for_all', intensity: 5, children: [w('a'), w('b'), w('c')] });
    expect(await terminateChild(node, sup, 'b')).toEqual({ ok: true });
    expect((await pidsOf(node, sup)).b).toBeUndefined();

    await crash(node, await pidOf(node, sup, 'c'));

    const after = await pidsOf(node, sup);
    expect(Object.values(after).every((pid) => typeof pid === 'string' && node.isAlive(pid as Pid))).toBe(true);
  });

  it('does nothing to the siblings when the child that ended is not restarted', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, {
      strategy: 'one_for_all',
      intensity: 5,
      children: [w('a'), w('t', { restart: 'transient' }), w('c')],
    });
    const before = await pidsOf(node, sup);
    await stopWith(node, before.t as Pid, 'normal');
    const after = await pidsOf(node, sup);
    expect(after).toEqual({ a: before.a, t: undefined, c: before.c });
  });
});

describe('rest_for_one', () => {
  it('restarts the child and the ones started after it; earlier ones keep their pids', async () => {
    const { node, exits } = harness();
    const sup = startSupervisor(node, { strategy: 'rest_for_one', intensity: 5, children: [w('a'), w('b'), w('c'), w('d')] });
    const before = await pidsOf(node, sup);
    exits.length = 0;

    await crash(node, before.b as Pid);

    expect(exits.map((e) => e.pid)).toEqual([before.b, before.d, before.c]);
    const after = await pidsOf(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
    expect(after.c).not.toBe(before.c);
    expect(after.d).not.toBe(before.d);
    expect(['b', 'c', 'd'].every((id) => node.isAlive(after[id] as Pid))).toBe(true);
  });

  it('restarts only the last child when the last one dies', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'rest_for_one', intensity: 5, children: [w('a'), w('b'), w('c')] });
    const before = await pidsOf(node, sup);
    await crash(node, before.c as Pid);
    const after = await pidsOf(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.b).toBe(before.b);
    expect(after.c).not.toBe(before.c);
  });

  it('treats a child added with start_child as started last', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'rest_for_one', intensity: 5, children: [w('a'), w('b')] });
    const added = await startChild(node, sup, w('z'));
    expect(added.ok).toBe(true);
    const before = await pidsOf(node, sup);
    await crash(node, before.b as Pid);
    const after = await pidsOf(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.z).not.toBe(before.z);
    expect(Object.keys(after)).toEqual(['a', 'b', 'z']);
  });
});

describe('children that die together', () => {
  /** Crashes `ids` while the supervisor is suspended, so their exits wait in its mailbox together. */
  async function crashTogether(node: Node, sup: Pid, ids: string[]) {
    const pids = await pidsOf(node, sup);
    sys.suspend(node, sup);
    for (const id of ids) node.cast(pids[id] as Pid, { type: 'crash' });
    sys.resume(node, sup);
    await node.settle();
    return pids;
  }

  it('under one_for_all cost one restart: the second exit is from a pid no longer supervised', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'one_for_all', intensity: 1, children: [w('a'), w('b'), w('c')] });
    const before = await crashTogether(node, sup, ['a', 'c']);
    expect(node.isAlive(sup)).toBe(true);
    const after = await pidsOf(node, sup);
    for (const id of ['a', 'b', 'c']) {
      expect(after[id]).not.toBe(before[id]);
      expect(node.isAlive(after[id] as Pid)).toBe(true);
    }
    expect((await whichChildren(node, sup)).map((r) => r.restarts)).toEqual([1, 1, 1]);
  });

  it('under rest_for_one cost one restart when the later one was restarted anyway', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'rest_for_one', intensity: 1, children: [w('a'), w('b'), w('c')] });
    const before = await crashTogether(node, sup, ['b', 'c']);
    expect(node.isAlive(sup)).toBe(true);
    expect((await pidsOf(node, sup)).a).toBe(before.a);
  });

  it('under one_for_one cost one restart each', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'one_for_one', intensity: 1, children: [w('a'), w('b'), w('c')] });
    await crashTogether(node, sup, ['a', 'c']);
    expect(node.isAlive(sup)).toBe(false);
  });
});

describe('simple_one_for_one', () => {
  const template = w('session');

  it('starts no child at init and starts dynamic children with their arguments as input', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 5, children: [template] });
    expect(await countChildren(node, sup)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });

    const one = await startChild(node, sup, [{ user: 'ada' }]);
    const two = await startChild(node, sup, [{ user: 'bob' }]);
    if (!one.ok || !two.ok) throw new Error('start_child failed');
    expect(one.pid).not.toBe(two.pid);
    expect(sys.getState(node, one.pid!)).toMatchObject({ context: { input: { user: 'ada' } } });
    expect(sys.getState(node, two.pid!)).toMatchObject({ context: { input: { user: 'bob' } } });
    expect(await countChildren(node, sup)).toEqual({ specs: 1, active: 2, supervisors: 0, workers: 2 });
  });

  it('restarts a crashed child with the arguments it was started with', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 5, children: [template] });
    const started = await startChild(node, sup, [{ user: 'ada' }]);
    if (!started.ok) throw new Error('start_child failed');

    await crash(node, started.pid!);

    const rows = await whichChildren(node, sup);
    expect(rows).toHaveLength(1);
    const restarted = rows[0]!.pid as Pid;
    expect(restarted).not.toBe(started.pid);
    expect(sys.getState(node, restarted)).toMatchObject({ context: { input: { user: 'ada' } } });
  });

  it('terminates a child by pid and forgets it', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
    const one = await startChild(node, sup, [1]);
    const two = await startChild(node, sup, [2]);
    if (!one.ok || !two.ok) throw new Error('start_child failed');

    expect(await terminateChild(node, sup, one.pid!)).toEqual({ ok: true });

    expect(node.isAlive(one.pid!)).toBe(false);
    expect((await whichChildren(node, sup)).map((r) => r.pid)).toEqual([two.pid]);
    // OTP: terminating a pid that is no longer alive answers ok (it is terminated).
    expect(await terminateChild(node, sup, one.pid!)).toEqual({ ok: true });
  });

  it('answers ok to terminate_child of a child that already exited by itself, not_found for a live stranger', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [w('job', { restart: 'transient' })] });
    const started = await startChild(node, sup, [1]);
    if (!started.ok) throw new Error('start_child failed');
    await stopWith(node, started.pid!, 'normal'); // transient, clean exit: gone and forgotten
    expect(node.isAlive(started.pid!)).toBe(false);

    expect(await terminateChild(node, sup, started.pid!)).toEqual({ ok: true });

    const stranger = spawnStatem(node, workerMachine);
    expect(await terminateChild(node, sup, stranger)).toEqual({ ok: false, error: 'not_found' });
    expect(node.isAlive(stranger)).toBe(true);
  });

  it('answers restart_child and delete_child with the error simple_one_for_one', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
    await startChild(node, sup, [1]);
    expect(await restartChild(node, sup, 'session')).toMatchObject({ ok: false, error: 'simple_one_for_one' });
    expect(await deleteChild(node, sup, 'session')).toMatchObject({ ok: false, error: 'simple_one_for_one' });
  });

  it('answers terminate_child by id (not a pid) with the error simple_one_for_one', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
    await startChild(node, sup, [1]);
    expect(await terminateChild(node, sup, 'session')).toMatchObject({ ok: false, error: 'simple_one_for_one' });
    expect((await countChildren(node, sup)).active).toBe(1);
  });

  it('returns the template from get_childspec, by its id or a child pid', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
    const started = await startChild(node, sup, [1]);
    if (!started.ok) throw new Error('start_child failed');
    expect(await getChildspec(node, sup, 'session')).toMatchObject({ ok: true, spec: { id: 'session', restart: 'permanent' } });
    expect(await getChildspec(node, sup, started.pid!)).toMatchObject({ ok: true, spec: { id: 'session' } });
  });

  it('does not restart temporary dynamic children and forgets them', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [w('job', { restart: 'temporary' })] });
    const started = await startChild(node, sup, [1]);
    if (!started.ok) throw new Error('start_child failed');
    await crash(node, started.pid!);
    expect(await countChildren(node, sup)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });
  });

  it('shuts its children down in parallel: stubborn ones are all killed after one shutdown timeout', async () => {
    const { node, clock, parent } = harness();
    const owner = parent();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [stubborn('s', 1_000, started)] }, { link: owner });
    for (let i = 0; i < 3; i++) await startChild(node, sup, [i]);
    expect(started).toHaveLength(3);

    node.exit(sup, 'shutdown', owner);
    await tick();
    expect(started.every((pid) => node.isAlive(pid))).toBe(true);

    clock.advance(1_000);
    await tick();
    expect(started.filter((pid) => node.isAlive(pid))).toEqual([]);
    expect(node.isAlive(sup)).toBe(false);
  });

  describe('startChildNow (a start for a caller on this node that cannot wait for a reply)', () => {
    it('starts a child at once with its arguments, as start_child would', () => {
      const { node } = harness();
      const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [w('s')] });
      const pid = (node.processOf(sup) as SupervisorProcess).startChildNow([{ user: 'ada' }]);
      expect(node.isAlive(pid!)).toBe(true);
      expect(sys.getState(node, pid!)).toMatchObject({ context: { input: { user: 'ada' } } });
    });

    it('starts nothing while the supervisor is shutting its children down, nor under a static strategy', async () => {
      const { node, clock, parent } = harness();
      const owner = parent();
      const started: Pid[] = [];
      const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [stubborn('s', 1_000, started)] }, { link: owner });
      await startChild(node, sup, [0]);
      const process = node.processOf(sup) as SupervisorProcess;
      node.exit(sup, 'shutdown', owner);
      await tick(); // blocked on the stubborn child's shutdown timer
      expect(process.startChildNow([1])).toBeUndefined();
      expect(started).toHaveLength(1);
      clock.advance(1_000);
      await tick();
      expect(node.isAlive(sup)).toBe(false);
      expect(process.startChildNow([2])).toBeUndefined(); // nor once it is gone

      const fixed = startSupervisor(node, { children: [w('a')] });
      expect((node.processOf(fixed) as SupervisorProcess).startChildNow([3])).toBeUndefined();
      expect(await countChildren(node, fixed)).toMatchObject({ specs: 1, active: 1 });
    });

    it('answers undefined for a start that fails, logs the reason, and keeps the supervisor and its children running', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
      const node = createNode({ clock: new SimulatedClock(), logger });
      const template: ChildSpec = {
        id: 's',
        start: (ctx, input: unknown) => {
          if (input === 'bad') throw new Error('no such customer');
          return w('s').start(ctx, input);
        },
      };
      const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
      const process = node.processOf(sup) as SupervisorProcess;
      const good = process.startChildNow(['good']);
      expect(process.startChildNow(['bad'])).toBeUndefined();
      expect(node.isAlive(sup)).toBe(true);
      expect(node.isAlive(good!)).toBe(true);
      expect(await countChildren(node, sup)).toMatchObject({ active: 1 });
      const logged = lines.map((line) => JSON.parse(line) as { msg: string; supervisor: Pid; reason: string });
      expect(logged).toMatchObject([{ msg: 'dynamic child failed to start', supervisor: sup, reason: 'Error: no such customer' }]);
    });
  });

  it('starts and stops 5,000 children, and shuts the rest down with the supervisor', async () => {
    const { node, exits, parent } = harness();
    const owner = parent();
    const top = startSupervisor(node, { strategy: 'simple_one_for_one', intensity: 10, children: [template] }, { link: owner });
    const pids: Pid[] = [];
    for (let i = 0; i < 5_000; i++) {
      const started = await startChild(node, top, [i]);
      if (!started.ok) throw new Error(`start_child ${i} failed`);
      pids.push(started.pid!);
    }
    expect(new Set(pids).size).toBe(5_000);
    expect(await countChildren(node, top)).toEqual({ specs: 1, active: 5_000, supervisors: 0, workers: 5_000 });

    for (const pid of pids.slice(0, 2_500)) {
      const result = await terminateChild(node, top, pid);
      if (!result.ok) throw new Error(`terminate_child ${pid} failed`);
    }
    expect((await countChildren(node, top)).active).toBe(2_500);
    expect(pids.slice(0, 2_500).some((pid) => node.isAlive(pid))).toBe(false);
    expect(pids.slice(2_500).every((pid) => node.isAlive(pid))).toBe(true);

    node.exit(top, 'shutdown', owner);
    await node.settle();
    expect(pids.some((pid) => node.isAlive(pid))).toBe(false);
    expect(exits.at(-1)).toEqual({ pid: top, reason: 'shutdown' });
    expect(exits.filter((e) => e.reason === 'shutdown')).toHaveLength(5_001);
    expect(node.stats.processes).toBe(1); // only the parent is left
  });
});
