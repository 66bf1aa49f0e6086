import { describe, expect, it } from 'vitest';
import { createMachine, sendTo, setup } from 'xstate';
import {
  CallExitError,
  CallTimeoutError,
  GovernorError,
  KILL,
  NameTakenError,
  NoProcError,
  NoSuchNameError,
  PostponeOverflowError,
  StartError,
  StopExitError,
  StopTimeoutError,
  TERMINATE_EVENT,
  UnhandledEventError,
  UnsupportedMachineFeatureError,
  reply,
  spawnStatem,
  stopProcess,
  sys,
} from '../../src/index.ts';
import { simulatedNode, watch } from './statem/helpers.ts';

// Programs match on `code` (stable, never reworded); people read the message, which must name
// what failed and say what to do. Each error is met here the way a user meets it.

type Ev = { type: string; [key: string]: unknown };

const echo = setup({ types: {} as { events: Ev } }).createMachine({
  id: 'echo',
  on: {
    ping: { actions: reply(() => 'pong') },
    crash: {
      actions: () => {
        throw new Error('disk full');
      },
    },
  },
});

/** What a rejected promise or a throwing function gave. */
async function failure(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('a call', () => {
  it('that gets no reply in time: CALL_TIMEOUT, naming the target and the timeout, and what to check', async () => {
    const { node, clock } = simulatedNode();
    spawnStatem(node, echo, { name: 'echo' });
    sys.suspend(node, node.whereis('echo')!);
    const call = failure(() => node.call('echo', { type: 'ping' }, { timeout: 250 }));
    clock.advance(250);
    const error = await call;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error).toBeInstanceOf(GovernorError);
    expect(error).toMatchObject({ code: 'CALL_TIMEOUT', name: 'CallTimeoutError', target: 'echo', timeoutMs: 250 });
    expect(error.message).toBe(
      'call to echo got no reply within 250 ms: the actor may be busy, suspended, or not handling this event in its ' +
        'current state; raise the timeout or check the actor with get_status',
    );
  });

  it('to a process that does not exist: CALL_EXIT noproc, saying there is no such process', async () => {
    const { node } = simulatedNode();
    const error = await failure(() => node.call('ghost', { type: 'ping' }));
    expect(error).toBeInstanceOf(CallExitError);
    expect(error).toMatchObject({ code: 'CALL_EXIT', target: 'ghost', reason: 'noproc', cause: undefined });
    expect(error.message).toBe('call to ghost failed: no such process (it is not running, or the name is not registered)');
  });

  it('whose callee crashes first: CALL_EXIT with the crash as reason and cause, rendered in the message', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, echo);
    const call = failure(() => node.call(pid, { type: 'crash' }));
    const error = await call;
    expect(error).toMatchObject({ code: 'CALL_EXIT', target: pid });
    expect((error as CallExitError).reason).toBeInstanceOf(Error);
    expect(error.cause).toBe((error as CallExitError).reason);
    expect(error.message).toBe(`call to ${pid} failed: the process exited before replying (reason: Error: disk full)`);
  });

  it('whose callee exits with a plain reason: that reason in the message, and no cause', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, echo);
    sys.suspend(node, pid);
    const call = failure(() => node.call({ name: 'x', node: node.name }, { type: 'ping' }));
    const byPid = failure(() => node.call(pid, { type: 'ping' }));
    node.exit(pid, { shutdown: 'moved' });
    expect((await call).message).toBe(`call to x@${node.name} failed: no such process (it is not running, or the name is not registered)`);
    const error = await byPid;
    expect(error).toMatchObject({ code: 'CALL_EXIT', reason: { shutdown: 'moved' }, cause: undefined });
    expect(error.message).toBe(`call to ${pid} failed: the process exited before replying (reason: {"shutdown":"moved"})`);
  });
});

describe('names', () => {
  it('a send to a name nobody holds: NO_SUCH_NAME, saying to start it or use its pid', () => {
    const { node } = simulatedNode();
    const error = (() => {
      try {
        node.send('nobody', { type: 'ping' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(NoSuchNameError);
    expect(error).toMatchObject({ code: 'NO_SUCH_NAME', registeredName: 'nobody' });
    expect(error!.message).toBe('no process is registered as "nobody": start it first, or send to its pid');
  });

  it('a name already taken, a second name, a name shaped like a pid: NAME_TAKEN, each saying what to do', async () => {
    const { node } = simulatedNode();
    const holder = spawnStatem(node, echo, { name: 'svc' });
    const other = spawnStatem(node, echo);
    const taken = await failure(() => node.register('svc', other));
    expect(taken).toBeInstanceOf(NameTakenError);
    expect(taken).toMatchObject({ code: 'NAME_TAKEN', registeredName: 'svc', holder, currentName: undefined });
    expect(taken.message).toBe(`the name "svc" is already registered to ${holder}: unregister it or pick another name`);

    const second = await failure(() => node.register('svc-2', holder));
    expect(second).toMatchObject({ code: 'NAME_TAKEN', registeredName: 'svc-2', holder, currentName: 'svc' });
    expect(second.message).toBe(`${holder} is already registered as "svc": a process has one name at most; unregister it first`);

    for (const bad of ['', '<n.1>', 42 as unknown as string]) {
      const refused = await failure(() => node.register(bad, other));
      expect(refused).toMatchObject({ code: 'NAME_TAKEN', registeredName: String(bad), holder: undefined });
      expect(refused.message).toBe(`"${bad}" cannot be registered: names must be non-empty and may not start with "<"`);
    }
  });

  it('an operation on a process that is gone: NOPROC, naming it', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, echo);
    node.exit(pid, KILL);
    const error = await failure(() => sys.getState(node, pid));
    expect(error).toBeInstanceOf(NoProcError);
    expect(error).toMatchObject({ code: 'NOPROC', target: pid });
    expect(error.message).toBe(`no such process: ${pid} is not running`);
  });
});

describe('an actor that crashes on its mail', () => {
  it('past maxPostponed: POSTPONE_OVERFLOW, naming the limit and the way out', () => {
    const { node } = simulatedNode();
    const parked = createMachine({ id: 'parked', meta: { postpone: ['job'] } });
    const pid = spawnStatem(node, parked, { maxPostponed: 2 });
    const seen = watch(node, pid);
    for (let i = 0; i < 3; i++) node.cast(pid, { type: 'job' });
    expect(seen.reason).toBeInstanceOf(PostponeOverflowError);
    expect(seen.reason).toMatchObject({ code: 'POSTPONE_OVERFLOW', pid, limit: 2 });
    expect((seen.reason as Error).message).toBe(
      `${pid} postponed more than 2 events: a state that postpones them is never left; handle them in the machine, or raise maxPostponed`,
    );
  });

  it('on an event no state takes: UNHANDLED_EVENT, naming the machine, state and event and the three ways out', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, echo);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'bogus' });
    expect(seen.reason).toBeInstanceOf(UnhandledEventError);
    expect((seen.reason as Error).message).toBe(
      `echo ${pid} in state {} got "bogus", which no transition of that state takes and no active state postpones: ` +
        `handle it, list it in the state's meta.postpone, or start the actor with unhandled: 'drop'`,
    );
  });

  it('using an XState feature the runtime replaces: UNSUPPORTED_MACHINE_FEATURE, saying what to use instead', () => {
    const { node } = simulatedNode();
    const relay = createMachine({ id: 'relay', on: { go: { actions: sendTo(({ self }) => self, { type: 'hi' }) } } });
    const pid = spawnStatem(node, relay);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.reason).toBeInstanceOf(UnsupportedMachineFeatureError);
    expect((seen.reason as Error).message).toBe(
      'sendTo/sendParent/forwardTo is not supported in Governor actors: use castTo, sendInfo or callTo from governor',
    );
  });
});

describe('starting and stopping', () => {
  it('an actor whose start fails: START_FAILED, naming it and the reason, with the error as cause', async () => {
    const { node } = simulatedNode();
    const boom = new Error('no config');
    const broken = createMachine({
      id: 'broken',
      context: () => {
        throw boom;
      },
    });
    const error = await failure(() => spawnStatem(node, broken));
    expect(error).toBeInstanceOf(StartError);
    expect(error).toMatchObject({ code: 'START_FAILED', what: 'actor broken', reason: boom, cause: boom });
    expect(error.message).toBe('could not start actor broken: Error: no config');
  });

  it('a stop that does not end in time: STOP_TIMEOUT, naming the process and the timeout', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, echo, { name: 'slow' });
    sys.suspend(node, pid);
    const stopping = failure(() => stopProcess(node, 'slow', 'normal', 500));
    clock.advance(500);
    const error = await stopping;
    expect(error).toBeInstanceOf(StopTimeoutError);
    expect(error).toMatchObject({ code: 'STOP_TIMEOUT', target: 'slow', timeoutMs: 500 });
    expect(error.message).toMatch(/^slow did not stop within 500 ms: it may be suspended, .+ raise the timeout or check it with get_status$/);
  });

  it('a stop that ends with another reason: STOP_EXIT, naming the process and the reason, the error as cause', async () => {
    const { node } = simulatedNode();
    const failing = new Error('cannot close');
    const broken = createMachine({
      id: 'broken-terminate',
      on: {
        [TERMINATE_EVENT]: {
          actions: () => {
            throw failing;
          },
        },
      },
    });
    const pid = spawnStatem(node, broken, { name: 'closing' });
    const error = await failure(() => stopProcess(node, 'closing'));
    expect(error).toBeInstanceOf(StopExitError);
    expect(error).toMatchObject({ code: 'STOP_EXIT', target: 'closing', reason: failing, cause: failing });
    expect(error.message).toBe('closing exited with Error: cannot close while being stopped');

    const killedPid = spawnStatem(node, echo);
    sys.suspend(node, killedPid);
    const killed = failure(() => stopProcess(node, killedPid, 'shutdown'));
    node.exit(killedPid, KILL);
    expect(await killed).toMatchObject({ code: 'STOP_EXIT', reason: 'killed', cause: undefined, message: `${killedPid} exited with killed while being stopped` });
    expect(node.isAlive(pid)).toBe(false);
  });
});
