import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  CallExitError,
  checkChildSpecs,
  checkSupervisorSpec,
  countChildren,
  deleteChild,
  getChildspec,
  InvalidSpecError,
  restartChild,
  spawnStatem,
  StartError,
  StopTimeoutError,
  TERMINATE_EVENT,
  formatReason,
  stopProcess,
  startChild,
  startSupervisor,
  stop,
  supervisor,
  sys,
  terminateChild,
  whichChildren,
  worker,
  type ChildSpec,
  type Pid,
  type Shutdown,
  type SupervisorSpec,
} from '../../../src/index.ts';
import { crash, exitOf, harness, pidOf, pidsOf, stubborn, tick, w, workerMachine } from './helpers.ts';

/** A child spec that records its start and then starts a worker. */
function recorded(id: string, log: string[]): ChildSpec {
  const spec = w(id);
  return { ...spec, start: (ctx, ...args) => (log.push(id), spec.start(ctx, ...args)) };
}

function failing(id: string, error = new Error(`${id} cannot start`)): ChildSpec {
  return {
    id,
    start: () => {
      throw error;
    },
  };
}

describe('start', () => {
  it('starts the children left to right before startSupervisor returns', async () => {
    const { node } = harness();
    const log: string[] = [];
    const sup = startSupervisor(node, { children: [recorded('a', log), recorded('b', log), recorded('c', log)] });
    expect(log).toEqual(['a', 'b', 'c']);
    const rows = await whichChildren(node, sup);
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(rows.every((r) => typeof r.pid === 'string' && node.isAlive(r.pid as Pid))).toBe(true);
  });

  it('starts a child supervisor’s whole subtree before the next sibling', async () => {
    const { node } = harness();
    const log: string[] = [];
    startSupervisor(node, {
      children: [recorded('a', log), supervisor('inner', { children: [recorded('x', log), recorded('y', log)] }), recorded('b', log)],
    });
    expect(log).toEqual(['a', 'x', 'y', 'b']);
  });

  it('on a failed third child, terminates the first two in reverse order and throws StartError', () => {
    const { node, exits } = harness();
    const log: string[] = [];
    const cause = new Error('no database');
    let thrown: unknown;
    try {
      startSupervisor(node, { children: [recorded('a', log), recorded('b', log), failing('c', cause), recorded('d', log)] }, { name: 'top' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toBe(cause);
    expect((thrown as StartError).message).toContain('"c"');
    expect(log).toEqual(['a', 'b']); // d was never started
    // exits: b then a (reverse start order), then the supervisor itself.
    const [b, a, sup] = exits;
    expect(exits).toHaveLength(3);
    expect(Number(b!.pid.slice(b!.pid.lastIndexOf('.') + 1, -1))).toBeGreaterThan(Number(a!.pid.slice(a!.pid.lastIndexOf('.') + 1, -1)));
    expect([a!.reason, b!.reason]).toEqual(['shutdown', 'shutdown']);
    expect(sup!.reason).toEqual({ shutdown: cause });
    expect(node.stats.processes).toBe(0);
    expect(node.whereis('top')).toBeUndefined();
  });

  it('on a failed start, does not leave behind a started child that traps exits: it is sent shutdown, then killed', () => {
    const { node, exits } = harness();
    const started: Pid[] = [];
    expect(() => startSupervisor(node, { children: [stubborn('s', 'infinity', started), failing('b')] })).toThrow(StartError);
    expect(node.isAlive(started[0]!)).toBe(false);
    expect(exits.find((e) => e.pid === started[0])?.reason).toBe('killed');
    expect(node.stats.processes).toBe(0);
  });

  it('fails with StartError when a child machine throws while entering its first state', () => {
    const { node } = harness();
    const broken = setup({}).createMachine({
      id: 'broken',
      entry: () => {
        throw new Error('bad entry');
      },
    });
    expect(() => startSupervisor(node, { children: [w('a'), worker('b', broken)] })).toThrow(StartError);
    expect(node.stats.processes).toBe(0);
  });

  it('fails with StartError carrying the reason when a static child stops during its start', () => {
    const { node } = harness();
    const quitter = setup({}).createMachine({ id: 'quitter', entry: stop({ shutdown: 'no config' }) });
    let thrown: unknown;
    try {
      startSupervisor(node, { children: [w('a'), worker('b', quitter)] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toEqual({ shutdown: 'no config' });
    expect((thrown as StartError).message).toContain('"b"');
    expect(node.stats.processes).toBe(0);
  });

  it('fails when a child supervisor cannot start its own children, and rolls everything back', () => {
    const { node } = harness();
    expect(() => startSupervisor(node, { children: [w('a'), supervisor('inner', { children: [w('x'), failing('y')] })] })).toThrow(
      StartError,
    );
    expect(node.stats.processes).toBe(0);
  });

  it('started linked, fails without a word to the process it was to link to: no exit signal, no link left (the caller gets the error)', () => {
    const { node } = harness();
    const owner = spawnStatem(node, workerMachine); // does not trap exits: an exit signal would end it
    expect(() => startSupervisor(node, { children: [w('a'), failing('b')] }, { link: owner })).toThrow(StartError);
    expect(node.isAlive(owner)).toBe(true);
    expect(sys.getStatus(node, owner).links).toEqual([]);
    expect(node.stats.processes).toBe(1);
  });

  const junk: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a string that is not a pid', 'junk'],
    ['an object', {}],
  ];

  it.each(junk)('fails with StartError when a start function returns %s, and rolls back', (_what, value) => {
    const { node } = harness();
    let thrown: unknown;
    try {
      startSupervisor(node, { intensity: 5, children: [w('a'), { id: 'x', start: () => value as Pid }] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toBeInstanceOf(TypeError);
    expect(String((thrown as StartError).reason)).toContain('"x"');
    expect(node.stats.processes).toBe(0);
  });

  it.each(junk)('answers start_child whose start returns %s with start_failed, and keeps running', async (_what, value) => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 5, children: [w('a')] });
    const result = await startChild(node, sup, { id: 'x', start: () => value as Pid });
    expect(result).toMatchObject({ ok: false, error: 'start_failed' });
    await node.settle();
    expect(node.isAlive(sup)).toBe(true);
    expect(Object.keys(await pidsOf(node, sup))).toEqual(['a']);
  });

  it('treats a restart whose start returns junk as a failed restart, retried until the intensity is spent', async () => {
    const { node, exits } = harness();
    let attempts = 0;
    let junkNow = false;
    const sup = startSupervisor(node, {
      intensity: 2,
      children: [{ id: 'x', start: (ctx, ...args) => (attempts++, junkNow ? ('junk' as Pid) : w('x').start(ctx, ...args)) }],
    });
    junkNow = true;
    await crash(node, await pidOf(node, sup, 'x'));
    expect(attempts).toBe(1 + 2);
    expect(node.isAlive(sup)).toBe(false);
    expect(exits.at(-1)).toEqual({ pid: sup, reason: 'shutdown' });
  });

  it('keeps a non-temporary child whose start returns ignore, not running', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a'), { id: 'later', start: () => 'ignore' }] });
    expect(await pidsOf(node, sup)).toEqual({ a: expect.any(String), later: undefined });
    expect(await countChildren(node, sup)).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });
  });

  it('registers the supervisor under its name, so the API can address it by name', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a')] }, { name: 'top' });
    expect(node.whereis('top')).toBe(sup);
    expect((await whichChildren(node, 'top')).map((r) => r.id)).toEqual(['a']);
  });
});

describe('shutdown', () => {
  it('terminates the children in reverse start order, then the supervisor exits', async () => {
    const { node, exits, parent } = harness();
    const owner = parent();
    const sup = startSupervisor(node, { children: [w('a'), w('b'), w('c'), w('d')] }, { link: owner });
    const pids = await pidsOf(node, sup);
    exits.length = 0;

    node.exit(sup, 'shutdown', owner);
    await node.settle();

    expect(exits).toEqual([
      { pid: pids.d, reason: 'shutdown' },
      { pid: pids.c, reason: 'shutdown' },
      { pid: pids.b, reason: 'shutdown' },
      { pid: pids.a, reason: 'shutdown' },
      { pid: sup, reason: 'shutdown' },
    ]);
  });

  it('shuts a child supervisor’s subtree down before the siblings started before it', async () => {
    const { node, exits, parent } = harness();
    const owner = parent();
    const sup = startSupervisor(node, { children: [w('a'), supervisor('inner', { children: [w('x'), w('y')] }), w('c')] }, { link: owner });
    const top = await pidsOf(node, sup);
    const inner = await pidsOf(node, top.inner as Pid);
    exits.length = 0;

    node.exit(sup, 'shutdown', owner);
    await node.settle();

    expect(exits.map((e) => e.pid)).toEqual([top.c, inner.y, inner.x, top.inner, top.a, sup]);
  });

  it('brutal_kill kills the child at once, even one that traps exits', async () => {
    const { node, exits } = harness();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [stubborn('s', 'brutal_kill', started)] });
    expect(await terminateChild(node, sup, 's')).toEqual({ ok: true });
    expect(exits).toEqual([{ pid: started[0], reason: 'killed' }]);
  });

  it('a shutdown timeout waits for a child that traps exits and kills it when the time is up', async () => {
    const { node, clock, exits } = harness();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [w('a'), stubborn('s', 1_000, started)] });
    let answered: unknown;
    void terminateChild(node, sup, 's').then((result) => (answered = result));
    await tick();
    expect(node.isAlive(started[0]!)).toBe(true); // got `shutdown`, ignored it

    clock.advance(999);
    await tick();
    expect(node.isAlive(started[0]!)).toBe(true);
    expect(answered).toBeUndefined();

    clock.advance(1);
    await tick();
    expect(node.isAlive(started[0]!)).toBe(false);
    expect(exits.find((e) => e.pid === started[0])?.reason).toBe('killed');
    expect(answered).toEqual({ ok: true });
    expect((await pidsOf(node, sup)).s).toBeUndefined();
  });

  it('a shutdown of 0 ms still sends shutdown first, then kills a child that traps exits as soon as time moves', async () => {
    const { node, clock, exits } = harness();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [stubborn('s', 0, started)] });
    let answered: unknown;
    void terminateChild(node, sup, 's').then((result) => (answered = result));
    await tick();
    expect(node.isAlive(started[0]!)).toBe(true); // got `shutdown` (not a kill), ignored it
    clock.advance(0);
    await tick();
    expect(exits.find((e) => e.pid === started[0])?.reason).toBe('killed');
    expect(answered).toEqual({ ok: true });
  });

  it('a shutdown timeout does not delay a child that exits when told', async () => {
    const { node, clock, exits } = harness();
    const sup = startSupervisor(node, { children: [worker('t', workerMachine, { trapExit: true, shutdown: 60_000 })] });
    const pid = await pidOf(node, sup, 't');
    expect(await terminateChild(node, sup, 't')).toEqual({ ok: true });
    expect(exits).toEqual([{ pid, reason: 'shutdown' }]);
    expect(clock.now()).toBe(0);
    expect(clock.pending).toBe(0); // the kill timer was cancelled
  });

  it('infinity waits for the child however long it takes', async () => {
    const { node, clock } = harness();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [stubborn('s', 'infinity', started)] });
    let answered: unknown;
    void terminateChild(node, sup, 's').then((result) => (answered = result));
    clock.advance(24 * 3_600_000);
    await tick();
    expect(node.isAlive(started[0]!)).toBe(true);
    expect(answered).toBeUndefined();

    node.exit(started[0]!, 'kill');
    await tick();
    expect(answered).toEqual({ ok: true });
  });

  it('waits for a stubborn child’s timeout before the supervisor itself exits', async () => {
    const { node, clock, exits, parent } = harness();
    const owner = parent();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [w('a'), stubborn('s', 500, started), w('c')] }, { link: owner });
    const pids = await pidsOf(node, sup);
    exits.length = 0;

    node.exit(sup, 'shutdown', owner);
    await tick();
    expect(exits.map((e) => e.pid)).toEqual([pids.c]); // s is being waited for; a is next
    expect(node.isAlive(sup)).toBe(true);

    clock.advance(500);
    await tick();
    expect(exits).toEqual([
      { pid: pids.c, reason: 'shutdown' },
      { pid: started[0], reason: 'killed' },
      { pid: pids.a, reason: 'shutdown' },
      { pid: sup, reason: 'shutdown' },
    ]);
  });

  it('blocks the supervisor: a call made meanwhile is answered after the child is gone', async () => {
    const { node, clock } = harness();
    const started: Pid[] = [];
    const sup = startSupervisor(node, { children: [w('a'), stubborn('s', 1_000, started)] });
    const order: string[] = [];
    void terminateChild(node, sup, 's').then(() => order.push('terminate'));
    void whichChildren(node, sup).then((rows) => order.push(`which:${String(rows[1]!.pid)}`));
    await tick();
    expect(order).toEqual([]);
    clock.advance(1_000);
    await tick();
    expect(order).toEqual(['terminate', 'which:undefined']);
  });

  describe('a gen_statem child’s terminate (the machine takes TERMINATE_EVENT)', () => {
    /** A worker whose terminate handler records its id and the reason. */
    function closing(id: string, log: string[], options: { trapExit?: boolean; shutdown?: Shutdown } = {}): ChildSpec {
      const machine = setup({ types: {} as { events: { type: string; reason?: unknown } } }).createMachine({
        id: 'closing',
        on: { [TERMINATE_EVENT]: { actions: ({ event }) => log.push(`${id}:${formatReason(event.reason)}`) } },
      });
      return worker(id, machine, { trapExit: options.trapExit ?? true, shutdown: options.shutdown ?? 1_000 });
    }

    it('runs when a child that traps exits is shut down, and the child exits at once, well within its shutdown time', async () => {
      const { node, exits } = harness();
      const log: string[] = [];
      const sup = startSupervisor(node, { children: [closing('a', log)] });
      const pid = await pidOf(node, sup, 'a');
      expect(await terminateChild(node, sup, 'a')).toEqual({ ok: true }); // no clock advance needed
      expect(log).toEqual(['a:shutdown']);
      expect(exits).toEqual([{ pid, reason: 'shutdown' }]);
    });

    it('runs for every child in reverse start order when the supervisor shuts down', async () => {
      const { node, parent } = harness();
      const owner = parent();
      const log: string[] = [];
      const sup = startSupervisor(node, { children: [closing('a', log), closing('b', log), closing('c', log)] }, { link: owner });
      node.exit(sup, 'shutdown', owner);
      await node.settle();
      expect(log).toEqual(['c:shutdown', 'b:shutdown', 'a:shutdown']);
      expect(node.isAlive(sup)).toBe(false);
    });

    it('does not run for a child that does not trap exits (the signal kills it), nor under brutal_kill', async () => {
      const { node, exits } = harness();
      const log: string[] = [];
      const sup = startSupervisor(node, { children: [closing('plain', log, { trapExit: false }), closing('brutal', log, { shutdown: 'brutal_kill' })] });
      const pids = await pidsOf(node, sup);
      await terminateChild(node, sup, 'plain');
      await terminateChild(node, sup, 'brutal');
      expect(log).toEqual([]);
      expect(exits).toEqual([
        { pid: pids.plain, reason: 'shutdown' },
        { pid: pids.brutal, reason: 'killed' },
      ]);
    });

    it('is cut short by the kill when the child cannot get to it within its shutdown time', async () => {
      const { node, clock, exits } = harness();
      const log: string[] = [];
      const sup = startSupervisor(node, { children: [closing('slow', log, { shutdown: 500 })] });
      const pid = await pidOf(node, sup, 'slow');
      sys.suspend(node, pid); // the shutdown signal waits in its mailbox
      let answered: unknown;
      void terminateChild(node, sup, 'slow').then((result) => (answered = result));
      await tick();
      expect(node.isAlive(pid)).toBe(true);
      clock.advance(499);
      await tick();
      expect(answered).toBeUndefined();
      clock.advance(1);
      await tick();
      expect(answered).toEqual({ ok: true });
      expect(log).toEqual([]);
      expect(exits).toEqual([{ pid, reason: 'killed' }]);
    });
  });

  describe('stopProcess (supervisor:stop)', () => {
    it('stops the children in reverse order with their shutdown specs, then the supervisor, and resolves when it is gone', async () => {
      const { node, clock, exits } = harness();
      const started: Pid[] = [];
      const sup = startSupervisor(node, { children: [w('a'), stubborn('s', 1_000, started), w('c')] }, { name: 'top' });
      const pids = await pidsOf(node, sup);
      let done = false;
      const stopping = stopProcess(node, 'top', { shutdown: 'maintenance' }).then(() => (done = true));
      await tick();
      expect(done).toBe(false); // waiting for the stubborn child's shutdown time
      expect(exits.map((e) => e.pid)).toEqual([pids.c]);
      clock.advance(1_000);
      await stopping;
      expect(exits).toEqual([
        { pid: pids.c, reason: 'shutdown' },
        { pid: pids.s, reason: 'killed' },
        { pid: pids.a, reason: 'shutdown' },
        { pid: sup, reason: { shutdown: 'maintenance' } },
      ]);
    });

    it('rejects with StopTimeoutError when it has not stopped in time; the supervisor goes on stopping', async () => {
      const { node, clock } = harness();
      const sup = startSupervisor(node, { children: [stubborn('s', 5_000)] });
      const stopping = stopProcess(node, sup, 'normal', 1_000);
      clock.advance(1_000);
      await expect(stopping).rejects.toBeInstanceOf(StopTimeoutError);
      await expect(stopping).rejects.toMatchObject({ code: 'STOP_TIMEOUT' });
      expect(node.isAlive(sup)).toBe(true);
      clock.advance(4_000);
      await tick();
      expect(node.isAlive(sup)).toBe(false);
    });
  });

  it('defaults: 5000 ms for a worker, infinity for a supervisor', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a'), supervisor('inner', { children: [] })] });
    expect(await getChildspec(node, sup, 'a')).toMatchObject({ ok: true, spec: { shutdown: 5_000, type: 'worker' } });
    expect(await getChildspec(node, sup, 'inner')).toMatchObject({ ok: true, spec: { shutdown: 'infinity', type: 'supervisor' } });
  });
});

describe('the child API', () => {
  async function started() {
    const h = harness();
    const sup = startSupervisor(h.node, { intensity: 5, children: [w('a'), w('b'), supervisor('inner', { children: [w('x')] })] });
    return { ...h, sup };
  }

  describe('restart_child', () => {
    it('answers running for a running child', async () => {
      const { node, sup } = await started();
      const pid = await pidOf(node, sup, 'a');
      expect(await restartChild(node, sup, 'a')).toEqual({ ok: false, error: 'running' });
      expect(await pidOf(node, sup, 'a')).toBe(pid);
    });

    it('answers not_found for an unknown id', async () => {
      const { node, sup } = await started();
      expect(await restartChild(node, sup, 'nope')).toEqual({ ok: false, error: 'not_found' });
    });

    it('starts a terminated child again with a new pid', async () => {
      const { node, sup } = await started();
      const old = await pidOf(node, sup, 'b');
      await terminateChild(node, sup, 'b');
      const result = await restartChild(node, sup, 'b');
      if (!result.ok) throw new Error('restart_child failed');
      expect(result.pid).not.toBe(old);
      expect(await pidOf(node, sup, 'b')).toBe(result.pid);
      expect(node.isAlive(result.pid!)).toBe(true);
    });

    it('answers restarting for a child whose restart failed, to calls that came before the retry', async () => {
      const { node } = harness();
      let failures = 0;
      const flaky: ChildSpec = {
        id: 'flaky',
        start: ({ node: n, supervisor: s }) => {
          if (failures-- > 0) throw new Error('cannot start');
          return spawnStatem(n, workerMachine, { link: s });
        },
      };
      const sup = startSupervisor(node, { intensity: 5, children: [flaky] });
      const pid = await pidOf(node, sup, 'flaky');
      failures = 1;
      // The exit and the calls wait in the mailbox; the retry is queued behind the calls.
      sys.suspend(node, sup);
      node.cast(pid, { type: 'crash' });
      const answers = Promise.all([restartChild(node, sup, 'flaky'), deleteChild(node, sup, 'flaky'), startChild(node, sup, flaky)]);
      sys.resume(node, sup);
      expect(await answers).toEqual([
        { ok: false, error: 'restarting' },
        { ok: false, error: 'restarting' },
        { ok: false, error: 'already_present' },
      ]);
      await node.settle();
      expect(node.isAlive(await pidOf(node, sup, 'flaky'))).toBe(true);
    });
  });

  describe('terminate_child', () => {
    it('stops the child and keeps its spec; a second call is fine', async () => {
      const { node, sup } = await started();
      const pid = await pidOf(node, sup, 'a');
      expect(await terminateChild(node, sup, 'a')).toEqual({ ok: true });
      expect(node.isAlive(pid)).toBe(false);
      expect((await pidsOf(node, sup)).a).toBeUndefined();
      expect(await terminateChild(node, sup, 'a')).toEqual({ ok: true });
      expect(await getChildspec(node, sup, 'a')).toMatchObject({ ok: true });
    });

    it('is not a crash: nothing is restarted and no intensity is spent', async () => {
      const { node } = harness();
      const sup = startSupervisor(node, { intensity: 0, children: [w('a'), w('b')] });
      await terminateChild(node, sup, 'a');
      await terminateChild(node, sup, 'b');
      await node.settle();
      expect(node.isAlive(sup)).toBe(true);
      expect(await pidsOf(node, sup)).toEqual({ a: undefined, b: undefined });
    });

    it('answers not_found for an unknown id', async () => {
      const { node, sup } = await started();
      expect(await terminateChild(node, sup, 'nope')).toEqual({ ok: false, error: 'not_found' });
    });

    it('takes a child supervisor down with its subtree', async () => {
      const { node, sup } = await started();
      const inner = await pidOf(node, sup, 'inner');
      const x = await pidOf(node, inner, 'x');
      expect(await terminateChild(node, sup, 'inner')).toEqual({ ok: true });
      expect(node.isAlive(inner)).toBe(false);
      expect(node.isAlive(x)).toBe(false);
    });
  });

  describe('delete_child', () => {
    it('answers running for a running child and keeps it', async () => {
      const { node, sup } = await started();
      expect(await deleteChild(node, sup, 'a')).toEqual({ ok: false, error: 'running' });
      expect(Object.keys(await pidsOf(node, sup))).toEqual(['a', 'b', 'inner']);
    });

    it('removes a stopped child’s spec', async () => {
      const { node, sup } = await started();
      await terminateChild(node, sup, 'b');
      expect(await deleteChild(node, sup, 'b')).toEqual({ ok: true });
      expect(Object.keys(await pidsOf(node, sup))).toEqual(['a', 'inner']);
      expect(await getChildspec(node, sup, 'b')).toEqual({ ok: false, error: 'not_found' });
      expect(await restartChild(node, sup, 'b')).toEqual({ ok: false, error: 'not_found' });
    });

    it('answers not_found for an unknown id', async () => {
      const { node, sup } = await started();
      expect(await deleteChild(node, sup, 'nope')).toEqual({ ok: false, error: 'not_found' });
    });
  });

  describe('start_child', () => {
    it('adds and starts a child after the others', async () => {
      const { node, sup } = await started();
      const result = await startChild(node, sup, w('late'));
      if (!result.ok) throw new Error('start_child failed');
      expect(node.isAlive(result.pid!)).toBe(true);
      expect(Object.keys(await pidsOf(node, sup))).toEqual(['a', 'b', 'inner', 'late']);
    });

    it('keeps a non-temporary child whose start answers ignore, not running, so restart_child can start it later', async () => {
      const { node, sup } = await started();
      let ready = false;
      const later: ChildSpec = { id: 'later', restart: 'transient', start: (ctx, ...args) => (ready ? w('later').start(ctx, ...args) : 'ignore') };
      expect(await startChild(node, sup, later)).toEqual({ ok: true, pid: undefined });
      expect((await pidsOf(node, sup)).later).toBeUndefined();
      expect(Object.keys(await pidsOf(node, sup))).toEqual(['a', 'b', 'inner', 'later']);
      ready = true;
      const restarted = await restartChild(node, sup, 'later');
      expect(restarted).toEqual({ ok: true, pid: expect.stringMatching(/^</) });
      expect((await pidsOf(node, sup)).later).toBe((restarted as { pid: Pid }).pid);
    });

    it('answers already_started with the pid for a running id', async () => {
      const { node, sup } = await started();
      const pid = await pidOf(node, sup, 'a');
      expect(await startChild(node, sup, w('a'))).toEqual({ ok: false, error: 'already_started', pid });
    });

    it('answers already_present for a stopped id', async () => {
      const { node, sup } = await started();
      await terminateChild(node, sup, 'a');
      expect(await startChild(node, sup, w('a'))).toEqual({ ok: false, error: 'already_present' });
    });

    it('answers start_failed with the reason, and keeps no spec', async () => {
      const { node, sup } = await started();
      const cause = new Error('nope');
      expect(await startChild(node, sup, failing('bad', cause))).toEqual({ ok: false, error: 'start_failed', reason: cause });
      expect(await getChildspec(node, sup, 'bad')).toEqual({ ok: false, error: 'not_found' });
    });

    it('answers start_failed with the reason for a child that stops or finishes during its start; the supervisor is unaffected', async () => {
      const { node, sup } = await started();
      const before = await pidsOf(node, sup);
      const quitter = setup({}).createMachine({ id: 'quitter', entry: stop('not today') });
      const instant = setup({}).createMachine({ id: 'instant', initial: 'done', states: { done: { type: 'final' } } });
      expect(await startChild(node, sup, worker('q', quitter))).toEqual({ ok: false, error: 'start_failed', reason: 'not today' });
      expect(await startChild(node, sup, worker('i', instant))).toEqual({ ok: false, error: 'start_failed', reason: 'normal' });
      await node.settle();
      expect(node.isAlive(sup)).toBe(true);
      expect(await pidsOf(node, sup)).toEqual(before); // nothing restarted, nothing added
      expect(sys.getState(node, sup)).toMatchObject({ restarts: 0 });
    });

    it('answers start_failed for a simple_one_for_one child that stops during its start', async () => {
      const { node } = harness();
      // The start argument is the machine's input; the init event carries it.
      const quitter = setup({ types: {} as { input: unknown } }).createMachine({
        id: 'quitter',
        entry: stop(({ event }: { event: { type: string; input?: unknown } }) => ({ shutdown: event.input })),
      });
      const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [worker('s', quitter)] });
      expect(await startChild(node, sup, ['bad input'])).toEqual({ ok: false, error: 'start_failed', reason: { shutdown: 'bad input' } });
      await node.settle();
      expect(node.isAlive(sup)).toBe(true);
      expect(await countChildren(node, sup)).toMatchObject({ active: 0 });
    });

    it('under simple_one_for_one answers start_failed with the reason for a start that throws, and ok without a pid for ignore', async () => {
      const { node } = harness();
      const cause = new Error('no capacity');
      let refuse: 'throw' | 'ignore' = 'throw';
      const template: ChildSpec = {
        id: 's',
        start: () => {
          if (refuse === 'throw') throw cause;
          return 'ignore';
        },
      };
      const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [template] });
      expect(await startChild(node, sup, [1])).toEqual({ ok: false, error: 'start_failed', reason: cause });
      refuse = 'ignore';
      expect(await startChild(node, sup, [2])).toEqual({ ok: true, pid: undefined });
      expect(await whichChildren(node, sup)).toEqual([]);
      expect(await countChildren(node, sup)).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });
    });

    it('answers invalid_child_spec for a bad spec, naming the field', async () => {
      const { node, sup } = await started();
      const result = await startChild(node, sup, { ...w('sig', { restart: 'transient' }), significant: true });
      expect(result).toMatchObject({ ok: false, error: 'invalid_child_spec' });
      expect(String((result as { reason?: unknown }).reason)).toContain('significant');
      const empty = await startChild(node, sup, { id: '', start: w('z').start });
      expect(String((empty as { reason?: unknown }).reason)).toContain('.id');
    });
  });

  describe('get_childspec', () => {
    it('returns the spec with defaults filled in', async () => {
      const { node, sup } = await started();
      const result = await getChildspec(node, sup, 'a');
      expect(result).toEqual({
        ok: true,
        spec: { id: 'a', restart: 'permanent', shutdown: 5_000, type: 'worker', significant: false, start: expect.any(Function) },
      });
    });

    it('answers not_found for an unknown id', async () => {
      const { node, sup } = await started();
      expect(await getChildspec(node, sup, 'nope')).toEqual({ ok: false, error: 'not_found' });
    });
  });

  it('answers a request it does not know with not_found naming it, and carries on', async () => {
    const { node, sup } = await started();
    const before = await pidsOf(node, sup);
    expect(await node.call(sup, { type: 'supervisor.reboot' })).toEqual({
      ok: false,
      error: 'not_found',
      reason: 'unknown supervisor request supervisor.reboot',
    });
    expect(await pidsOf(node, sup)).toEqual(before);
  });

  describe('count_children and which_children', () => {
    it('count specs, running children, supervisors and workers', async () => {
      const { node, sup } = await started();
      expect(await countChildren(node, sup)).toEqual({ specs: 3, active: 3, supervisors: 1, workers: 2 });
      await terminateChild(node, sup, 'b');
      expect(await countChildren(node, sup)).toEqual({ specs: 3, active: 2, supervisors: 1, workers: 2 });
      await deleteChild(node, sup, 'b');
      expect(await countChildren(node, sup)).toEqual({ specs: 2, active: 2, supervisors: 1, workers: 1 });
    });

    it('list id, pid, type and restarts, in start order', async () => {
      const { node, sup } = await started();
      await terminateChild(node, sup, 'b');
      await crash(node, await pidOf(node, sup, 'a'));
      const rows = await whichChildren(node, sup);
      expect(rows).toEqual([
        { id: 'a', pid: expect.stringMatching(/^</), type: 'worker', restarts: 1 },
        { id: 'b', pid: undefined, type: 'worker', restarts: 0 },
        { id: 'inner', pid: expect.stringMatching(/^</), type: 'supervisor', restarts: 0 },
      ]);
    });
  });
});

describe('invalid specs', () => {
  const start = w('ok').start;
  const SHUTDOWN = 'must be "brutal_kill", "infinity" or a whole number of ms ≥ 0';
  const PERMANENT_SIGNIFICANT = 'a permanent child cannot be significant (use transient or temporary)';
  const NEEDS_AUTO_SHUTDOWN = 'significant children need autoShutdown any_significant or all_significant';
  const START = 'must be a function returning a pid or "ignore"';
  const cases: [string, unknown, string, string][] = [
    ['a missing id', { start }, 'children[0].id', 'must be a non-empty string'],
    ['an empty id', { id: '', start }, 'children[0].id', 'must be a non-empty string'],
    ['a non-string id', { id: 42, start }, 'children[0].id', 'must be a non-empty string'],
    ['a bad restart value', { id: 'a', start, restart: 'sometimes' }, 'children[0].restart', 'must be one of permanent, transient, temporary'],
    ['a negative shutdown', { id: 'a', start, shutdown: -1 }, 'children[0].shutdown', SHUTDOWN],
    ['a fractional shutdown', { id: 'a', start, shutdown: 1.5 }, 'children[0].shutdown', SHUTDOWN],
    ['an unknown shutdown word', { id: 'a', start, shutdown: 'gently' }, 'children[0].shutdown', SHUTDOWN],
    ['a bad type', { id: 'a', start, type: 'actor' }, 'children[0].type', 'must be "worker" or "supervisor"'],
    ['a non-boolean significant', { id: 'a', start, restart: 'transient', significant: 'yes' }, 'children[0].significant', 'must be a boolean'],
    ['a significant permanent child', { id: 'a', start, significant: true }, 'children[0].significant', PERMANENT_SIGNIFICANT],
    ['a significant child under autoShutdown never', { id: 'a', start, restart: 'transient', significant: true }, 'children[0].significant', NEEDS_AUTO_SHUTDOWN],
    ['a non-function start', { id: 'a', start: 'spawn it' }, 'children[0].start', START],
    ['a missing start', { id: 'a' }, 'children[0].start', START],
    ['null', null, 'children[0]', 'must be an object'],
    ['a string', 'worker', 'children[0]', 'must be an object'],
  ];

  it.each(cases)('rejects %s, naming the field and what it must be', (_what, child, where, problem) => {
    const { node } = harness();
    let thrown: unknown;
    try {
      startSupervisor(node, { children: [child as ChildSpec] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSpecError);
    const error = thrown as InvalidSpecError;
    expect(error.code).toBe('INVALID_SPEC');
    expect(error.problems).toContainEqual({ where, problem });
    expect(error.message).toContain(`${where}: ${problem}`);
    expect(node.stats.spawned).toBe(0);
  });

  it('rejects a duplicate id, naming the second one', () => {
    expect(() => checkSupervisorSpec({ children: [w('a'), w('b'), w('a')] })).toThrow(InvalidSpecError);
    expect(checkChildSpecs([w('a'), w('b'), w('a')])).toEqual([{ where: 'children[2].id', problem: 'duplicate id "a"' }]);
  });

  it('reports every problem at once', () => {
    const problems = checkChildSpecs([{ id: 'a', restart: 'bogus', shutdown: -5, start: 1 }, null]);
    expect(problems.map((p) => p.where)).toEqual(['children[0].start', 'children[0].restart', 'children[0].shutdown', 'children[1]']);
  });

  it('says a bad spec in one message: each field with what is wrong with it', () => {
    expect(new InvalidSpecError(checkChildSpecs([{ id: '', start: 1 }])).message).toBe(
      `invalid supervisor spec: children[0].id: must be a non-empty string; children[0].start: ${START}`,
    );
  });

  it('checks child specs as for a supervisor with autoShutdown never when none is given', () => {
    expect(checkChildSpecs([w('a', { restart: 'transient', significant: true })])).toEqual([
      { where: 'children[0].significant', problem: NEEDS_AUTO_SHUTDOWN },
    ]);
  });

  it('rejects a non-boolean significant under an auto shutdown too', () => {
    const spec = { ...w('a', { restart: 'transient' }), significant: 'yes' };
    expect(checkChildSpecs([spec], 'any_significant')).toEqual([{ where: 'children[0].significant', problem: 'must be a boolean' }]);
  });

  it('accepts valid specs, significant ones under an auto shutdown', () => {
    expect(checkChildSpecs([w('a'), w('b', { restart: 'transient', significant: true })], 'any_significant')).toEqual([]);
    expect(checkChildSpecs([w('c', { restart: 'temporary', significant: true })], 'all_significant')).toEqual([]);
  });

  it('rejects a significant permanent child under an auto shutdown too: it could never end by itself', () => {
    for (const autoShutdown of ['any_significant', 'all_significant'] as const) {
      expect(checkChildSpecs([{ id: 'a', start, significant: true }], autoShutdown)).toEqual([
        { where: 'children[0].significant', problem: 'a permanent child cannot be significant (use transient or temporary)' },
      ]);
    }
  });

  it('accepts the edges of every range: shutdown 0, intensity 0, backoff minMs 0 and minMs = maxMs, jitter 0 and 1, resetAfterMs 0', () => {
    expect(checkChildSpecs([w('a', { shutdown: 0 }), w('b', { shutdown: 'brutal_kill' }), w('c', { shutdown: 'infinity' })])).toEqual([]);
    const edges: SupervisorSpec[] = [
      { intensity: 0, children: [] },
      { backoff: { minMs: 0, maxMs: 0 }, children: [] },
      { backoff: { minMs: 250, maxMs: 250, jitter: 0 }, children: [] },
      { backoff: { minMs: 1, maxMs: 5, jitter: 1, resetAfterMs: 0 }, children: [] },
    ];
    for (const spec of edges) expect(() => checkSupervisorSpec(spec), JSON.stringify(spec)).not.toThrow();
    expect(checkSupervisorSpec({ backoff: { minMs: 250, maxMs: 250 }, children: [] }).backoff).toEqual({ minMs: 250, maxMs: 250, jitter: 0, resetAfterMs: 250 });
  });

  it('rejects a backoff jitter below 0, NaN or not a number, naming the field', () => {
    for (const jitter of [-0.1, Number.NaN, '0.5' as unknown as number, true as unknown as number]) {
      let thrown: unknown;
      try {
        checkSupervisorSpec({ backoff: { minMs: 1, maxMs: 5, jitter }, children: [] });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(jitter)).toBeInstanceOf(InvalidSpecError);
      expect((thrown as InvalidSpecError).problems).toEqual([{ where: 'backoff.jitter', problem: 'must be a number between 0 and 1' }]);
    }
  });

  const PERIOD = 'must be a number of seconds > 0';
  const TEMPLATE = 'simple_one_for_one takes exactly one child spec, the template';
  const MIN_MAX = 'needs 0 ≤ minMs ≤ maxMs';
  const BACKOFF_OBJECT = 'must be an object { minMs, maxMs, jitter?, resetAfterMs? }';
  const RESET = 'must be a number of ms ≥ 0';
  const supervisorCases: [string, unknown, string, string][] = [
    ['not an object', null, 'spec', 'must be an object'],
    ['an unknown strategy', { strategy: 'all_for_none', children: [] }, 'strategy', 'must be one of one_for_one, one_for_all, rest_for_one, simple_one_for_one'],
    ['a negative intensity', { intensity: -1, children: [] }, 'intensity', 'must be a whole number ≥ 0'],
    ['a fractional intensity', { intensity: 0.5, children: [] }, 'intensity', 'must be a whole number ≥ 0'],
    ['a zero period', { period: 0, children: [] }, 'period', PERIOD],
    ['a period that is not a number', { period: '5', children: [] }, 'period', PERIOD],
    ['an infinite period', { period: Infinity, children: [] }, 'period', PERIOD],
    ['an unknown autoShutdown', { autoShutdown: 'sometimes', children: [] }, 'autoShutdown', 'must be one of never, any_significant, all_significant'],
    ['children that are not an array', { children: {} }, 'children', 'must be an array of child specs'],
    ['simple_one_for_one without a template', { strategy: 'simple_one_for_one', children: [] }, 'children', TEMPLATE],
    ['simple_one_for_one with two templates', { strategy: 'simple_one_for_one', children: [w('a'), w('b')] }, 'children', TEMPLATE],
    ['a backoff with min above max', { backoff: { minMs: 10, maxMs: 5 }, children: [] }, 'backoff', MIN_MAX],
    ['a backoff with a negative min', { backoff: { minMs: -1, maxMs: 5 }, children: [] }, 'backoff', MIN_MAX],
    ['a backoff jitter above 1', { backoff: { minMs: 1, maxMs: 5, jitter: 2 }, children: [] }, 'backoff.jitter', 'must be a number between 0 and 1'],
    ['a backoff with a string min', { backoff: { minMs: '5', maxMs: 50 }, children: [] }, 'backoff', MIN_MAX],
    ['a backoff with a string max', { backoff: { minMs: 5, maxMs: '50' }, children: [] }, 'backoff', MIN_MAX],
    ['a null backoff', { backoff: null, children: [] }, 'backoff', BACKOFF_OBJECT],
    ['a backoff that is not an object', { backoff: 100, children: [] }, 'backoff', BACKOFF_OBJECT],
    ['a negative backoff resetAfterMs', { backoff: { minMs: 1, maxMs: 5, resetAfterMs: -1 }, children: [] }, 'backoff.resetAfterMs', RESET],
    ['a string backoff resetAfterMs', { backoff: { minMs: 1, maxMs: 5, resetAfterMs: '5' }, children: [] }, 'backoff.resetAfterMs', RESET],
  ];

  it.each(supervisorCases)('rejects a supervisor spec with %s, naming the field and what it must be', (_what, spec, where, problem) => {
    const { node } = harness();
    let thrown: unknown;
    try {
      startSupervisor(node, spec as SupervisorSpec);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSpecError);
    expect((thrown as InvalidSpecError).problems).toEqual([{ where, problem }]);
    expect(node.stats.spawned).toBe(0);
  });

  it('rejects a bad child supervisor spec as a failed start of that child', () => {
    const { node } = harness();
    let thrown: unknown;
    try {
      startSupervisor(node, { children: [w('a'), supervisor('inner', { intensity: -1, children: [] })] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toBeInstanceOf(InvalidSpecError);
    expect(node.stats.processes).toBe(0);
  });
});

describe('supervisor exits', () => {
  it('a killed supervisor takes its children with it through their links', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a'), w('b')] });
    const pids = await pidsOf(node, sup);
    const a = exitOf(node, pids.a as Pid);
    node.exit(sup, 'kill');
    await node.settle();
    expect(a).toEqual({ exited: true, reason: 'killed' });
    expect(node.stats.processes).toBe(0);
  });

  it('ignores an exit signal from a process that is neither its parent nor a child', async () => {
    const { node, parent } = harness();
    const stranger = parent();
    const sup = startSupervisor(node, { children: [w('a')] });
    node.exit(sup, 'shutdown', stranger);
    await node.settle();
    expect(node.isAlive(sup)).toBe(true);
    expect(node.isAlive(await pidOf(node, sup, 'a'))).toBe(true);
  });
});

describe('introspection', () => {
  it('sys.tree walks every supervisor and child with its state value', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { children: [w('a'), supervisor('inner', { strategy: 'rest_for_one', children: [w('x')] }), w('b')] }, { name: 'top' });
    await terminateChild(node, sup, 'b');
    const pids = await pidsOf(node, sup);
    expect(sys.tree(node, sup)).toEqual({
      id: 'top',
      pid: sup,
      kind: 'supervisor',
      name: 'top',
      stateValue: 'one_for_one',
      children: [
        { id: 'a', pid: pids.a, kind: 'statem', name: undefined, stateValue: 'running' },
        {
          id: 'inner',
          pid: pids.inner,
          kind: 'supervisor',
          name: undefined,
          stateValue: 'rest_for_one',
          children: [{ id: 'x', pid: await pidOf(node, pids.inner as Pid, 'x'), kind: 'statem', name: undefined, stateValue: 'running' }],
        },
        { id: 'b', pid: undefined, kind: 'not_running', name: undefined, stateValue: undefined },
      ],
    });
  });

  it('counts restarts in the child’s statistics', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 5, children: [w('a')] });
    expect(sys.statistics(node, await pidOf(node, sup, 'a')).restarts).toBe(0);
    await crash(node, await pidOf(node, sup, 'a'));
    expect(sys.statistics(node, await pidOf(node, sup, 'a')).restarts).toBe(1);
  });

  it('sys.getState of a supervisor gives its strategy, its children and the restarts in its intensity record', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { strategy: 'rest_for_one', intensity: 5, children: [w('a'), w('b')] });
    expect(sys.getState(node, sup)).toEqual({ strategy: 'rest_for_one', children: await whichChildren(node, sup), restarts: 0 });
    await crash(node, await pidOf(node, sup, 'b'));
    await crash(node, await pidOf(node, sup, 'a'));
    expect(sys.getState(node, sup)).toEqual({
      strategy: 'rest_for_one',
      children: [
        { id: 'a', pid: await pidOf(node, sup, 'a'), type: 'worker', restarts: 1 },
        { id: 'b', pid: await pidOf(node, sup, 'b'), type: 'worker', restarts: 2 },
      ],
      restarts: 2,
    });
  });

  it('API calls to a supervisor that has exited reject with CallExitError', async () => {
    const { node } = harness();
    const sup = startSupervisor(node, { intensity: 0, children: [w('a')] });
    await crash(node, await pidOf(node, sup, 'a'));
    await expect(whichChildren(node, sup)).rejects.toBeInstanceOf(CallExitError);
    await expect(startChild(node, sup, w('b'))).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'noproc' });
  });
});

describe('links, as a supervisor uses them', () => {
  // Node.link once recorded the link before routing it, so an address route() could not handle
  // poisoned the link set and the process's exit then threw before its monitors got DOWN.
  it('a refused link leaves nothing behind: the process still exits cleanly and monitors see it', () => {
    const { node } = harness();
    const pid = spawnStatem(node, workerMachine);
    const down = exitOf(node, pid);
    expect(() => node.link(pid, undefined as unknown as Pid)).toThrow();
    node.exit(pid, 'kill');
    expect(node.isAlive(pid)).toBe(false);
    expect(down).toEqual({ exited: true, reason: 'killed' });
  });
});
