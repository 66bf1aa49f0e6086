import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { KILL, createNode, formatReason, isCleanExit, isShutdownReason, spawnStatem, stop, sys, type ExitReason, type Node, type Pid } from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from '../statem/helpers.ts';

type Ev = { type: string; [key: string]: unknown };

/** A process that records every EXIT / DOWN it gets, and can be told to stop with a reason. */
const proc = setup({ types: {} as { context: { got: Ev[] }; events: Ev } }).createMachine({
  id: 'proc',
  context: { got: [] },
  on: {
    EXIT: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
    DOWN: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
    stop: { actions: stop(({ event }: { event: Ev }) => event.reason as ExitReason) },
  },
});

const got = (node: Node, pid: Pid) => stateOf<{ got: Ev[] }>(node, pid).context.got;
const spawn = (node: Node, trapExit = false) => spawnStatem(node, proc, { trapExit });

const REASONS: [string, ExitReason][] = [
  ['shutdown', 'shutdown'],
  ['{shutdown, x}', { shutdown: 'maintenance' }],
  ['an Error', new Error('crashed')],
  ['any other term', { code: 7 }],
];

describe('links', () => {
  it.each(REASONS)('carry an abnormal exit (%s) both ways and along a chain', (_label, reason) => {
    const { node } = simulatedNode();
    const [a, b, c] = [spawn(node), spawn(node), spawn(node)];
    node.link(a, b);
    node.link(b, c);
    const seenA = watch(node, a);
    const seenB = watch(node, b);
    node.cast(c, { type: 'stop', reason });
    expect(seenB.reason).toBe(reason);
    expect(seenA.reason).toBe(reason);
    expect(node.stats.processes).toBe(0);

    // And from the other end.
    const [x, y] = [spawn(node), spawn(node)];
    node.link(x, y);
    const seenY = watch(node, y);
    node.cast(x, { type: 'stop', reason });
    expect(seenY.reason).toBe(reason);
  });

  it('normal is ignored by a process that does not trap exits', () => {
    const { node } = simulatedNode();
    const [a, b] = [spawn(node), spawn(node)];
    node.link(a, b);
    node.cast(b, { type: 'stop', reason: 'normal' });
    expect(node.isAlive(b)).toBe(false);
    expect(node.isAlive(a)).toBe(true);
    expect(sys.getStatus(node, a).links).toEqual([]);
  });

  it('an exit(pid, normal) from another process is ignored unless trapped', () => {
    const { node } = simulatedNode();
    const [sender, target, trapper] = [spawn(node), spawn(node), spawn(node, true)];
    node.exit(target, 'normal', sender);
    expect(node.isAlive(target)).toBe(true);
    node.exit(trapper, 'normal', sender);
    expect(got(node, trapper)).toEqual([{ type: 'EXIT', from: sender, reason: 'normal' }]);
  });

  it('an exit(self, normal) a process sends itself ends it with normal (Erlang); trapped, it is an EXIT like any other', () => {
    const { node } = simulatedNode();
    const [self, trapper] = [spawn(node), spawn(node, true)];
    const seen = watch(node, self);
    node.exit(self, 'normal', self);
    expect(seen.down).toBe(true);
    expect(seen.reason).toBe('normal');
    node.exit(trapper, 'normal', trapper);
    expect(got(node, trapper)).toEqual([{ type: 'EXIT', from: trapper, reason: 'normal' }]);
  });

  it('an exit(pid, normal) from the node itself (no sender) is ignored like one from another process', () => {
    const { node } = simulatedNode();
    const target = spawn(node);
    node.exit(target, 'normal');
    expect(node.isAlive(target)).toBe(true);
  });

  it('an exit signal to a pid that has exited is dropped', () => {
    const { node } = simulatedNode();
    const [sender, gone] = [spawn(node), spawn(node)];
    node.exit(gone, KILL);
    expect(() => node.exit(gone, 'boom', sender)).not.toThrow();
    expect(() => node.exit(gone, KILL)).not.toThrow();
    expect(node.isAlive(sender)).toBe(true);
    expect(node.stats.exited).toBe(1);
  });

  it('an exit signal with any other reason ends a non-trapping process with that reason', () => {
    const { node } = simulatedNode();
    for (const [, reason] of REASONS) {
      const [sender, target] = [spawn(node), spawn(node)];
      const seen = watch(node, target);
      node.exit(target, reason, sender);
      expect(seen.reason).toBe(reason);
      expect(node.isAlive(sender)).toBe(true); // not linked: a signal is one-way
    }
  });

  it('are removed by unlink: a later crash does not travel', () => {
    const { node } = simulatedNode();
    const [a, b] = [spawn(node), spawn(node)];
    node.link(a, b);
    node.unlink(b, a);
    expect(sys.getStatus(node, a).links).toEqual([]);
    expect(sys.getStatus(node, b).links).toEqual([]);
    node.cast(b, { type: 'stop', reason: 'boom' });
    expect(node.isAlive(a)).toBe(true);
  });

  it('unlink between processes that never linked, or with one that has exited, does nothing', () => {
    const { node } = simulatedNode();
    const [a, b, gone] = [spawn(node), spawn(node), spawn(node)];
    node.exit(gone, KILL);
    expect(() => node.unlink(a, b)).not.toThrow();
    expect(() => node.unlink(gone, a)).not.toThrow();
    expect(() => node.unlink(a, gone)).not.toThrow();
    expect([node.isAlive(a), node.isAlive(b)]).toEqual([true, true]);
    expect(sys.getStatus(node, a).links).toEqual([]);
  });

  it('are one per pair: linking twice and unlinking once leaves none', () => {
    const { node } = simulatedNode();
    const [a, b] = [spawn(node), spawn(node)];
    node.link(a, b);
    node.link(b, a);
    expect(sys.getStatus(node, a).links).toEqual([b]);
    expect(sys.getStatus(node, b).links).toEqual([a]);
    node.unlink(a, b);
    node.cast(b, { type: 'stop', reason: 'boom' });
    expect(node.isAlive(a)).toBe(true);
  });

  it('made from a dead pid to a live one (by a third party) are noproc for the live end, as if it had linked', () => {
    const { node } = simulatedNode();
    const dead = spawn(node);
    node.exit(dead, KILL);
    const plain = spawn(node);
    const seen = watch(node, plain);
    node.link(dead, plain);
    expect(seen.reason).toBe('noproc');

    const trapping = spawn(node, true);
    node.link(dead, trapping);
    expect(got(node, trapping)).toEqual([{ type: 'EXIT', from: dead, reason: 'noproc' }]);
    expect(sys.getStatus(node, trapping).links).toEqual([]);
  });

  it('between two pids that have both exited do nothing', () => {
    const { node } = simulatedNode();
    const [a, b, bystander] = [spawn(node), spawn(node), spawn(node)];
    node.exit(a, KILL);
    node.exit(b, KILL);
    expect(() => node.link(a, b)).not.toThrow();
    expect(node.isAlive(bystander)).toBe(true);
    expect(node.stats).toMatchObject({ processes: 1, exited: 2 });
  });

  it('to oneself are a no-op, as in Erlang', () => {
    const { node } = simulatedNode();
    const a = spawn(node);
    node.link(a, a);
    expect(sys.getStatus(node, a).links).toEqual([]);
  });

  it('to a dead pid send noproc back at once: a non-trapping process dies, a trapping one is told', () => {
    const { node } = simulatedNode();
    const dead = spawn(node);
    node.exit(dead, KILL);
    const plain = spawn(node);
    const seen = watch(node, plain);
    node.link(plain, dead);
    expect(seen.reason).toBe('noproc');

    const trapping = spawn(node, true);
    node.link(trapping, dead);
    expect(got(node, trapping)).toEqual([{ type: 'EXIT', from: dead, reason: 'noproc' }]);
    expect(sys.getStatus(node, trapping).links).toEqual([]);
  });

  it('spawn with link is linked before anything can happen', () => {
    const { node } = simulatedNode();
    const parent = spawn(node, true);
    const child = spawnStatem(node, proc, { link: parent });
    expect(sys.getStatus(node, child).links).toEqual([parent]);
    expect(sys.getStatus(node, parent).links).toEqual([child]);
    node.cast(child, { type: 'stop', reason: 'boom' });
    expect(got(node, parent)).toEqual([{ type: 'EXIT', from: child, reason: 'boom' }]);
  });
});

describe('trap_exit', () => {
  it.each([['normal', 'normal' as ExitReason], ...REASONS])('turns a linked exit (%s) into an EXIT event', (_label, reason) => {
    const { node } = simulatedNode();
    const [trapper, other] = [spawn(node, true), spawn(node)];
    node.link(trapper, other);
    node.cast(other, { type: 'stop', reason });
    expect(node.isAlive(trapper)).toBe(true);
    expect(got(node, trapper)).toEqual([{ type: 'EXIT', from: other, reason }]);
    expect(sys.getStatus(node, trapper).links).toEqual([]);
  });

  it('an exit signal a linked process sends on purpose (exit/2) is an EXIT too, and leaves the link in place', () => {
    const { node } = simulatedNode();
    const [trapper, other] = [spawn(node, true), spawn(node)];
    node.link(trapper, other);
    node.exit(trapper, 'reconsider', other);
    expect(got(node, trapper)).toEqual([{ type: 'EXIT', from: other, reason: 'reconsider' }]);
    expect(sys.getStatus(node, trapper).links).toEqual([other]);
    node.cast(other, { type: 'stop', reason: 'boom' });
    expect(got(node, trapper)).toEqual([
      { type: 'EXIT', from: other, reason: 'reconsider' },
      { type: 'EXIT', from: other, reason: 'boom' },
    ]);
  });

  it('but the exit of the process that spawned it linked (its parent) still ends it', () => {
    const { node } = simulatedNode();
    const parent = spawn(node);
    const child = spawnStatem(node, proc, { link: parent, trapExit: true });
    const seen = watch(node, child);
    node.cast(parent, { type: 'stop', reason: { shutdown: 'parent done' } });
    expect(seen.reason).toEqual({ shutdown: 'parent done' });
  });

  it('cannot trap kill: the target dies with killed and its links see killed', () => {
    const { node } = simulatedNode();
    const [target, trappingPeer, plainPeer] = [spawn(node, true), spawn(node, true), spawn(node)];
    node.link(target, trappingPeer);
    node.link(target, plainPeer);
    const seenTarget = watch(node, target);
    const seenPlain = watch(node, plainPeer);
    node.exit(target, KILL, trappingPeer);
    expect(seenTarget.reason).toBe('killed');
    expect(seenPlain.reason).toBe('killed');
    expect(got(node, trappingPeer)).toEqual([{ type: 'EXIT', from: target, reason: 'killed' }]);
  });

  it('a linked process that exits with reason kill sends an ordinary signal: trapped it is an EXIT kill, else its links exit with kill (Erlang)', () => {
    const { node } = simulatedNode();
    const [quitter, trapper, plain] = [spawn(node), spawn(node, true), spawn(node)];
    node.link(quitter, trapper);
    node.link(quitter, plain);
    const seenPlain = watch(node, plain);
    node.cast(quitter, { type: 'stop', reason: KILL });
    expect(got(node, trapper)).toEqual([{ type: 'EXIT', from: quitter, reason: KILL }]);
    expect(node.isAlive(trapper)).toBe(true);
    expect(seenPlain.reason).toBe(KILL);
  });
});

describe('exit reasons', () => {
  it('an abnormal exit is logged at debug with its reason; normal and shutdown exits are not logged', () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = { debug: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }), error: () => {}, warn: () => {} };
    const node = createNode({ logger: logger as never });
    const [clean, stopped, crashed] = [spawn(node), spawn(node), spawn(node)];
    node.cast(clean, { type: 'stop', reason: 'normal' });
    node.cast(stopped, { type: 'stop', reason: 'shutdown' });
    node.cast(crashed, { type: 'stop', reason: { code: 7 } });
    expect(lines).toEqual([{ fields: { actor: crashed, reason: formatReason({ code: 7 }) }, message: 'process exited' }]);
  });

  it('names the node on the line and leaves pino’s `pid` to the OS process (a real pino logger)', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const node = createNode({ name: 'logs1', logger: pino({ level: 'debug' }, sink) });
    const pid = spawn(node);
    node.cast(pid, { type: 'stop', reason: { code: 'boom' } });
    await expect.poll(() => lines.find((l) => l.msg === 'process exited')).toMatchObject({ node: 'logs1', actor: pid, pid: process.pid });
    // A logger already bound to the node is not bound twice.
    const text: string[] = [];
    const bound = createNode({ name: 'logs2', logger: pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (text.push(chunk.toString()), done()) })).child({ node: 'logs2' }) });
    bound.cast(spawn(bound), { type: 'stop', reason: 'crash' });
    await expect.poll(() => text.join('')).toContain('process exited');
    expect(text.join('').match(/"node":"logs2"/g)).toHaveLength(1);
    await Promise.all([node.stop(), bound.stop()]);
  });

  it('names the node through the child of a logger that has child but no bindings (a minimal pino-like logger)', () => {
    const lines: Record<string, unknown>[] = [];
    const childOf = (bound: Record<string, unknown>) => ({
      debug: (fields: Record<string, unknown>) => lines.push({ ...bound, ...fields }),
      error: () => {},
      warn: () => {},
      child: (more: Record<string, unknown>) => childOf({ ...bound, ...more }),
    });
    const node = createNode({ name: 'minimal', logger: childOf({}) as never });
    const pid = spawn(node);
    node.cast(pid, { type: 'stop', reason: 'boom' });
    expect(lines).toEqual([expect.objectContaining({ node: 'minimal', actor: pid })]);
  });

  it('normal, shutdown and {shutdown, x} are clean; killed, noproc and errors are not', () => {
    for (const reason of ['normal', 'shutdown', { shutdown: 1 }, { shutdown: undefined }]) expect(isCleanExit(reason), JSON.stringify(reason)).toBe(true);
    for (const reason of ['killed', 'noproc', 'kill', new Error('x'), { code: 1 }, null, undefined, 0, ['shutdown']]) {
      expect(isCleanExit(reason), String(reason)).toBe(false);
    }
    expect(isShutdownReason(Object.assign(new Error('x'), { shutdown: true }))).toBe(false);
  });

  it('are rendered for logs and traces, even those JSON cannot write', () => {
    const cyclic: Record<string, unknown> = { code: 1 };
    cyclic['self'] = cyclic;
    expect([formatReason('normal'), formatReason(new TypeError('bad')), formatReason({ shutdown: 'x' })]).toEqual(['normal', 'TypeError: bad', '{"shutdown":"x"}']);
    expect([formatReason(cyclic), formatReason({ n: 1n }), formatReason(undefined), formatReason(Symbol('s'))]).toEqual([
      '[object Object]',
      '[object Object]',
      'undefined',
      'Symbol(s)',
    ]);
  });
});

describe('monitors', () => {
  it.each([['normal', 'normal' as ExitReason], ['killed', 'killed'], ...REASONS])('deliver DOWN with the reason (%s)', (_label, reason) => {
    const { node } = simulatedNode();
    const [watcher, target] = [spawn(node), spawn(node)];
    const ref = node.monitor(target, watcher);
    const seen = watch(node, target);
    if (reason === 'killed') node.exit(target, KILL);
    else node.cast(target, { type: 'stop', reason });
    expect(seen.reason).toBe(reason);
    expect(got(node, watcher)).toEqual([{ type: 'DOWN', ref, pid: target, reason }]);
  });

  it('are one-way: the watcher’s death does not touch the target, and removes the monitor', () => {
    const { node } = simulatedNode();
    const [watcher, target] = [spawn(node), spawn(node)];
    node.monitor(target, watcher);
    expect(sys.getStatus(node, target).monitoredBy).toBe(1);
    node.cast(watcher, { type: 'stop', reason: 'boom' });
    expect(node.isAlive(target)).toBe(true);
    expect(sys.getStatus(node, target).monitoredBy).toBe(0);
    node.exit(target, KILL);
    expect(node.stats.undelivered).toBe(0);
  });

  it('with a callback, removed by demonitor, are not called when the node stops either', async () => {
    const { node } = simulatedNode();
    const target = spawn(node);
    const calls: unknown[] = [];
    const ref = node.monitor(target, (down) => calls.push(down.reason));
    node.demonitor(ref, target);
    await node.stop();
    expect(node.isAlive(target)).toBe(false);
    expect(calls).toEqual([]);
  });

  it('stack: two monitors give two DOWNs with their own refs', () => {
    const { node } = simulatedNode();
    const [watcher, target] = [spawn(node), spawn(node)];
    const r1 = node.monitor(target, watcher);
    const r2 = node.monitor(target, watcher);
    expect(r1).not.toBe(r2);
    node.exit(target, KILL);
    expect(got(node, watcher).map((e) => e.ref)).toEqual([r1, r2]);
  });

  it('of a dead pid or an unregistered name give DOWN noproc at once', () => {
    const { node } = simulatedNode();
    const dead = spawn(node);
    node.exit(dead, KILL);
    const watcher = spawn(node);
    const r1 = node.monitor(dead, watcher);
    const r2 = node.monitor('nobody', watcher);
    expect(got(node, watcher)).toEqual([
      { type: 'DOWN', ref: r1, pid: dead, reason: 'noproc' },
      { type: 'DOWN', ref: r2, pid: 'nobody', reason: 'noproc' },
    ]);
    const calls: unknown[] = [];
    node.monitor(dead, (down) => calls.push(down.reason));
    node.monitor({ name: 'nobody', node: node.name }, (down) => calls.push(down.reason));
    expect(calls).toEqual(['noproc', 'noproc']);
  });

  it('of a { name, node } nobody holds name that address in their DOWN, as another node answers (not "[object Object]")', () => {
    const { node } = simulatedNode();
    const watcher = spawn(node);
    const nobody = { name: 'nobody', node: node.name };
    const ref = node.monitor(nobody, watcher);
    const pids: unknown[] = [];
    node.monitor(nobody, (down) => pids.push(down.pid));
    expect(got(node, watcher)).toEqual([{ type: 'DOWN', ref, pid: nobody, reason: 'noproc' }]);
    expect(pids).toEqual([nobody]);
  });

  it('by name follow the process that holds it when monitored', () => {
    const { node } = simulatedNode();
    const target = spawnStatem(node, proc, { name: 'svc' });
    const watcher = spawn(node);
    node.monitor('svc', watcher);
    node.exit(target, KILL);
    expect(got(node, watcher)).toEqual([expect.objectContaining({ type: 'DOWN', pid: target, reason: 'killed' })]);
  });

  it('are removed by demonitor: no DOWN afterwards, and an unknown ref is harmless', () => {
    const { node } = simulatedNode();
    const [watcher, target] = [spawn(node), spawn(node)];
    const ref = node.monitor(target, watcher);
    const calls: unknown[] = [];
    const fnRef = node.monitor(target, (down) => calls.push(down));
    node.demonitor(ref, target);
    node.demonitor(fnRef, target);
    node.demonitor('no-such-ref', target);
    expect(sys.getStatus(node, target).monitoredBy).toBe(0);
    node.exit(target, KILL);
    expect(got(node, watcher)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('demonitor of a target that has exited, or that nobody monitors, does nothing', () => {
    const { node } = simulatedNode();
    const [watcher, target, gone] = [spawn(node), spawn(node), spawn(node)];
    const ref = node.monitor(gone, watcher);
    node.exit(gone, KILL);
    expect(() => node.demonitor(ref, gone)).not.toThrow();
    expect(() => node.demonitor('no-such-ref', target)).not.toThrow();
    expect(sys.getStatus(node, target).monitoredBy).toBe(0);
    expect(got(node, watcher)).toEqual([expect.objectContaining({ type: 'DOWN', ref, reason: 'killed' })]);
  });

  it('with a callback call it once, with the pid and reason', () => {
    const { node } = simulatedNode();
    const target = spawn(node);
    const calls: { pid: Pid; reason: unknown }[] = [];
    node.monitor(target, (down) => calls.push({ pid: down.pid, reason: down.reason }));
    node.cast(target, { type: 'stop', reason: 'shutdown' });
    expect(calls).toEqual([{ pid: target, reason: 'shutdown' }]);
  });
});

describe('exit listeners (node.onExit)', () => {
  it('hear every local exit, with the reason and the process record that already left the table', () => {
    const { node } = simulatedNode();
    const named = spawnStatem(node, proc, { name: 'named' });
    const other = spawn(node);
    const heard: [Pid, ExitReason, string | undefined, boolean][] = [];
    node.onExit((pid, reason, process) => heard.push([pid, reason, process.name, node.isAlive(pid)]));
    node.exit(named, 'shutdown');
    node.cast(other, { type: 'stop', reason: 'normal' });
    expect(heard).toEqual([
      [named, 'shutdown', 'named', false],
      [other, 'normal', undefined, false],
    ]);
  });

  it('stop hearing once the function onExit returned is called; the others still hear', () => {
    const { node } = simulatedNode();
    const [first, second] = [spawn(node), spawn(node)];
    const gone: Pid[] = [];
    const kept: Pid[] = [];
    const unsubscribe = node.onExit((pid) => gone.push(pid));
    node.onExit((pid) => kept.push(pid));
    node.exit(first, KILL);
    unsubscribe();
    node.exit(second, KILL);
    expect(gone).toEqual([first]);
    expect(kept).toEqual([first, second]);
  });
});

describe('a monitor callback or exit listener that throws', () => {
  it('does not stop other watchers, links or the node from hearing of the exit', async () => {
    const { node } = simulatedNode();
    const [target, linked, bystander] = [spawn(node), spawn(node, true), spawn(node)];
    node.link(target, linked);
    node.monitor(target, () => {
      throw new Error('bad watcher');
    });
    const calls: unknown[] = [];
    node.monitor(target, (down) => calls.push(down.reason));
    node.onExit(() => {
      throw new Error('bad exit listener');
    });
    const exits: unknown[] = [];
    node.onExit((pid, reason) => exits.push([pid, reason]));
    expect(() => node.exit(target, 'shutdown')).not.toThrow();
    expect(calls).toEqual(['shutdown']);
    expect(exits).toEqual([[target, 'shutdown']]);
    expect(got(node, linked)).toEqual([{ type: 'EXIT', from: target, reason: 'shutdown' }]);
    node.cast(bystander, { type: 'stop', reason: 'normal' });
    expect(node.isAlive(bystander)).toBe(false);
  });

  it('is logged as an error with what threw, so the failure is not silent', () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message });
    const node = createNode({ logger: { debug: at('debug'), error: at('error'), warn: at('warn') } as never });
    const target = spawn(node);
    const watcherFailure = new Error('bad watcher');
    const listenerFailure = new Error('bad exit listener');
    const ref = node.monitor(target, () => {
      throw watcherFailure;
    });
    node.onExit(() => {
      throw listenerFailure;
    });
    node.exit(target, 'shutdown');
    expect(lines).toEqual([
      { level: 'error', fields: { ref, err: watcherFailure }, message: 'monitor callback failed' },
      { level: 'error', fields: { actor: target, err: listenerFailure }, message: 'exit listener failed' },
    ]);
  });
});
