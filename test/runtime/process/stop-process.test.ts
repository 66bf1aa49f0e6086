import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { KILL, NoProcError, StopExitError, spawnStatem, stopProcess, sys, type ExitReason } from '../../../src/index.ts';
import { simulatedNode, watch } from '../statem/helpers.ts';

const idle = createMachine({ id: 'idle' });

/** A stop that waits in a suspended actor's mailbox, and the exit signal that ends the actor first. */
async function stoppedBy(asked: ExitReason, exitedWith: ExitReason): Promise<unknown> {
  const { node } = simulatedNode();
  const pid = spawnStatem(node, idle);
  sys.suspend(node, pid);
  const stopping = stopProcess(node, pid, asked).then(
    () => 'stopped',
    (error: unknown) => error,
  );
  node.exit(pid, exitedWith);
  return stopping;
}

describe('stopProcess', () => {
  it('stops a process by its registered name as by its pid', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, idle, { name: 'billing' });
    const seen = watch(node, pid);
    await stopProcess(node, 'billing', 'shutdown');
    expect(seen.reason).toBe('shutdown');
  });

  it('stops with reason normal unless told otherwise', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, idle);
    const seen = watch(node, pid);
    await stopProcess(node, pid);
    expect(seen.reason).toBe('normal');
  });

  it('refuses a pid that has exited, a name nobody holds, with NoProcError', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, idle);
    node.exit(pid, KILL);
    await expect(stopProcess(node, pid)).rejects.toBeInstanceOf(NoProcError);
    await expect(stopProcess(node, 'nobody')).rejects.toMatchObject({ code: 'NOPROC', target: 'nobody' });
  });

  it('refuses a timeout that is not a number of milliseconds ≥ 0 or Infinity; 0 is a timeout', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, idle);
    for (const timeout of [-1, Number.NaN, -Infinity, '100' as unknown as number]) {
      expect(() => stopProcess(node, pid, 'normal', timeout)).toThrow(
        `stop timeout must be a number of milliseconds ≥ 0 or Infinity, got ${String(timeout)}`,
      );
    }
    expect(node.isAlive(pid)).toBe(true);
    await expect(stopProcess(node, pid, 'normal', 0)).resolves.toBeUndefined();
  });

  it('leaves no timer behind once the process has exited, and arms none for Infinity', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, idle);
    sys.suspend(node, pid);
    const stopping = stopProcess(node, pid, 'shutdown', 10_000);
    expect(clock.pending).toBe(1);
    sys.resume(node, pid);
    await stopping;
    expect(clock.pending).toBe(0);

    const other = spawnStatem(node, idle);
    sys.suspend(node, other);
    const forever = stopProcess(node, other, 'shutdown');
    expect(clock.pending).toBe(0);
    sys.resume(node, other);
    await forever;
  });

  it('compares reasons by value: a { shutdown: x } built anew is the reason asked for', async () => {
    expect(await stoppedBy({ shutdown: 'maintenance' }, { shutdown: 'maintenance' })).toBe('stopped');
  });

  it('takes the very reason asked for, even one that is an error or that JSON cannot write', async () => {
    const error = new Error('closing');
    const loop = cyclic();
    expect(await stoppedBy(error, error)).toBe('stopped');
    expect(await stoppedBy(loop, loop)).toBe('stopped');
  });

  it.each<[string, ExitReason, ExitReason]>([
    ['another term', { shutdown: 'maintenance' }, { shutdown: 'moved' }],
    ['a string for a term', { shutdown: 'x' }, 'shutdown'],
    ['another error with the same message', new Error('same'), new Error('same')],
    ['a term for an error', new Error('asked'), {}],
    ['an error for a term', {}, new Error('exited')],
    ['a term JSON cannot write', cyclic(), cyclic()],
  ])('rejects with StopExitError when the process exits with %s', async (_label, asked, exitedWith) => {
    const outcome = await stoppedBy(asked, exitedWith);
    expect(outcome).toBeInstanceOf(StopExitError);
    expect(outcome).toMatchObject({ code: 'STOP_EXIT', reason: exitedWith });
  });
});

function cyclic(): Record<string, unknown> {
  const term: Record<string, unknown> = { shutdown: 'loop' };
  term['self'] = term;
  return term;
}
