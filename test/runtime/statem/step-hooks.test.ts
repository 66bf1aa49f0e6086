import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { cancelTimer, hibernate, nextEvent, spawnStatem, startTimer, stop, sys, type StatemProcess } from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { n: number };

const inc = assign<Ctx, Ev, undefined, Ev, never>({ n: ({ context }) => context.n + 1 });

/**
 * `inc` counts; `twice` counts and inserts another `inc`; `quit` stops, `finish` reaches a final
 * state, `boom` throws; `nap` asks to hibernate; `later` sets a timer that sends `inc`.
 */
const counter = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'on',
  states: {
    on: {
      on: {
        inc: { actions: inc },
        twice: { actions: [inc, nextEvent({ type: 'inc' })] },
        quit: { actions: [inc, stop('normal')] },
        finish: { target: 'done', actions: inc },
        boom: {
          actions: [
            inc,
            () => {
              throw new Error('boom');
            },
          ],
        },
        nap: { actions: hibernate() },
        later: { actions: startTimer('t', 100, { type: 'inc' }) },
        reset: { actions: startTimer('t', 200, { type: 'inc' }) },
        cancel: { actions: cancelTimer('t') },
      },
    },
    done: { type: 'final' },
  },
});

/** Spawns the counter with an afterStep that records the count it sees, and whether the actor was alive. */
function committing() {
  const { node, clock } = simulatedNode();
  const commits: { n: number; alive: boolean }[] = [];
  const pid = spawnStatem(node, counter, {
    afterStep: (process: StatemProcess) => commits.push({ n: (process.getState().context as Ctx).n, alive: node.isAlive(process.pid) }),
  });
  return { node, clock, pid, commits };
}

describe('afterStep, the commit hook', () => {
  it('is not run for the start: nothing was handled yet', () => {
    const { commits } = committing();
    expect(commits).toEqual([]);
  });

  it('runs once per message handled, with the state after it', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'inc' });
    node.send(pid, { type: 'inc' });
    expect(commits).toEqual([
      { n: 1, alive: true },
      { n: 2, alive: true },
    ]);
  });

  it('runs once the events the message inserted have been handled too, not in between', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'twice' });
    expect(commits).toEqual([{ n: 2, alive: true }]);
  });

  it('runs after a timer that fires, and not for one cancelled or restarted since (nothing was handled)', () => {
    const { node, clock, pid, commits } = committing();
    node.cast(pid, { type: 'later' });
    clock.advance(50);
    node.cast(pid, { type: 'reset' }); // the timer due at 100 is replaced by one due at 250
    clock.advance(200);
    expect(commits.map((c) => c.n)).toEqual([0, 0, 1]);
  });

  it('is not run when the actor stopped in that step: a stopped actor has no state to commit', () => {
    const { node, pid, commits } = committing();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'inc' });
    node.cast(pid, { type: 'quit' });
    expect(seen.reason).toBe('normal');
    expect(commits).toEqual([{ n: 1, alive: true }]);
  });

  it('is not run when the actor reached a final state in that step', () => {
    const { node, pid, commits } = committing();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'finish' });
    expect(seen.reason).toBe('normal');
    expect(commits).toEqual([]);
  });

  it('is not run when the actor crashed in that step: the half-done step is not committed', () => {
    const { node, pid, commits } = committing();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'boom' });
    expect((seen.reason as Error).message).toBe('boom');
    expect(commits).toEqual([]);
  });

  it('is not run when an exit signal ends the actor', () => {
    const { node, pid, commits } = committing();
    node.exit(pid, 'shutdown');
    expect(node.isAlive(pid)).toBe(false);
    expect(commits).toEqual([]);
  });
});

/** `closed` keeps `inc`s (and `bad`s) for `open`, which counts them (and crashes on `bad`). */
const gate = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'gate',
  context: { n: 0 },
  initial: 'closed',
  states: {
    closed: { meta: { postpone: ['inc', 'bad'] }, on: { open: 'open' } },
    open: {
      on: {
        inc: { actions: inc },
        bad: {
          actions: () => {
            throw new Error('bad');
          },
        },
      },
    },
  },
});

/** The gate with an afterStep that records the state value and count it sees. */
function committingGate() {
  const { node } = simulatedNode();
  const commits: { value: unknown; n: number }[] = [];
  const pid = spawnStatem(node, gate, {
    afterStep: (process: StatemProcess) => commits.push({ value: process.getState().value, n: (process.getState().context as Ctx).n }),
  });
  return { node, pid, commits };
}

describe('afterStep outside a message: a state replaced from outside is committed too', () => {
  it('runs after sys.replaceState, once the postponed events it replayed have been handled', () => {
    const { node, pid, commits } = committingGate();
    node.cast(pid, { type: 'inc' });
    node.cast(pid, { type: 'inc' });
    expect(commits).toEqual([
      { value: 'closed', n: 0 },
      { value: 'closed', n: 0 },
    ]);
    sys.replaceState(node, pid, () => ({ value: 'open' }));
    // The replayed events ran (and may have replied or sent): their state must reach the store.
    expect(commits.at(-1)).toEqual({ value: 'open', n: 2 });
    expect(commits).toHaveLength(3);
  });

  it('runs after a context-only sys.replaceState: the replaced data is what a restart must come back to', () => {
    const { node, pid, commits } = committingGate();
    sys.replaceState(node, pid, () => ({ context: { n: 7 } }));
    expect(commits).toEqual([{ value: 'closed', n: 7 }]);
  });

  it('on a suspended actor runs for the replaced state, and again on resume once the replayed events ran', () => {
    const { node, pid, commits } = committingGate();
    node.cast(pid, { type: 'inc' });
    sys.suspend(node, pid);
    sys.replaceState(node, pid, () => ({ value: 'open' }));
    expect(commits.at(-1)).toEqual({ value: 'open', n: 0 });
    const before = commits.length;
    sys.resume(node, pid);
    expect(commits.slice(before)).toEqual([{ value: 'open', n: 1 }]);
  });

  it('is not run on a resume that handled nothing', () => {
    const { node, pid, commits } = committingGate();
    sys.suspend(node, pid);
    sys.resume(node, pid);
    expect(commits).toEqual([]);
  });

  it('is not run when a replayed event crashed the actor: the half-done step is not committed', () => {
    const { node, pid, commits } = committingGate();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'bad' });
    sys.replaceState(node, pid, () => ({ value: 'open' }));
    expect((seen.reason as Error).message).toBe('bad');
    expect(commits).toEqual([{ value: 'closed', n: 0 }]);
  });
});

describe('hibernate()', () => {
  it('marks the actor as asking to be passivated, and it carries on: the store layer decides', () => {
    const { node, pid } = committing();
    const process = node.processOf(pid) as StatemProcess;
    expect(process.hibernateRequested).toBe(false);
    node.cast(pid, { type: 'inc' });
    expect(process.hibernateRequested).toBe(false);
    node.cast(pid, { type: 'nap' });
    expect(process.hibernateRequested).toBe(true);
    node.cast(pid, { type: 'inc' });
    expect(stateOf<Ctx>(node, pid).context.n).toBe(2);
  });
});

describe('afterStep and timers', () => {
  it('is not run for a timeout that was cancelled while it waited in the mailbox: nothing was handled', () => {
    const { node, clock, pid, commits } = committing();
    node.cast(pid, { type: 'later' });
    sys.suspend(node, pid);
    node.cast(pid, { type: 'cancel' });
    clock.advance(100); // the timeout joins the mailbox behind the cancel
    sys.resume(node, pid);
    expect(commits).toEqual([
      { n: 0, alive: true },
      { n: 0, alive: true },
    ]);
    expect(stateOf<Ctx>(node, pid).context.n).toBe(0);
  });
});

describe('the store layer and hibernate()', () => {
  it('clears the request once it has acted on it, and the next hibernate() sets it again', () => {
    const { node, pid } = committing();
    const process = node.processOf(pid) as StatemProcess;
    node.cast(pid, { type: 'nap' });
    process.hibernateRequested = false;
    expect(process.hibernateRequested).toBe(false);
    node.cast(pid, { type: 'inc' });
    expect(process.hibernateRequested).toBe(false);
    node.cast(pid, { type: 'nap' });
    expect(process.hibernateRequested).toBe(true);
  });
});

describe('afterStep outside a message', () => {
  it('is not run by a resume with nothing queued, even after events were inserted earlier', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'twice' }); // inserts an `inc`, handled in the same step
    expect(commits).toHaveLength(1);
    sys.suspend(node, pid);
    sys.resume(node, pid);
    expect(commits).toHaveLength(1);
  });

  it('that throws after a replace_state crashes the actor with its error, as in a step', () => {
    const { node } = simulatedNode();
    const failure = new Error('commit failed');
    const pid = spawnStatem(node, counter, {
      afterStep: () => {
        throw failure;
      },
    });
    const seen = watch(node, pid);
    sys.replaceState(node, pid, ({ context }) => ({ context: { ...(context as Ctx), n: 5 } }));
    expect(seen.down).toBe(true);
    expect(seen.reason).toBe(failure);
  });
});
