/**
 * When a gen_statem actor may leave memory (`atRest`, `hibernateIfIdle`, `hibernateAfterCommit`):
 * only with its state committed, nothing waiting or suspended, and a snapshot to come back from.
 * Seen from the process a host drives (an entity host or a BullMQ partition), with a store of one.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { cancelTimer, spawnStatem, startTimer, sys, type StatemOptions, type StatemProcess } from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from './helpers.ts';

type Ctx = { n: number };
type Ev = { type: string };

const counter = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'on',
  states: {
    on: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        arm: { actions: startTimer('t', 1_000, { type: 'inc' }) },
        disarm: { actions: cancelTimer('t') },
      },
    },
  },
});

/**
 * A counter whose commits go to a store of one snapshot, made by hand (`commit()`), and which comes
 * back from it when hibernated.
 */
function stored(options: StatemOptions = {}) {
  const { node, clock } = simulatedNode();
  let committed: unknown;
  const pid = spawnStatem(node, counter, { rehydrate: () => committed, ...options });
  const process = node.processOf(pid) as StatemProcess;
  const commit = () => {
    committed = process.persistForCommit().snapshot;
  };
  const forget = () => {
    committed = undefined;
  };
  return { node, clock, pid, process, commit, forget };
}

describe('an actor at rest', () => {
  it('has its last step committed: a step since the commit keeps it in memory, whatever its store says', () => {
    const { node, pid, process, commit } = stored();
    commit();
    expect(process.atRest).toBe(true);
    node.cast(pid, { type: 'inc' });
    expect(process.atRest).toBe(false);
    expect(process.hibernateAfterCommit(true, 0)).toBe(false);
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernated).toBe(false);
    commit();
    expect(process.hibernateIfIdle(true)).toBe(true);
    expect(process.hibernated).toBe(true);
    expect(stateOf<Ctx>(node, pid).context.n).toBe(1);
  });

  it('is not suspended', () => {
    const { node, pid, process, commit } = stored();
    commit();
    sys.suspend(node, pid);
    expect(process.atRest).toBe(false);
    expect(process.hibernateAfterCommit(true, 0)).toBe(false);
    sys.resume(node, pid);
    expect(process.atRest).toBe(true);
    expect(process.hibernateAfterCommit(true, 0)).toBe(true);
  });

  it('has no message waiting: between two messages of one turn it is not at rest', () => {
    const atRest: boolean[] = [];
    const { node, pid } = stored({
      afterStep: (p) => {
        p.persistForCommit();
        atRest.push(p.atRest);
      },
    });
    node.run(() => {
      node.cast(pid, { type: 'inc' });
      node.cast(pid, { type: 'inc' });
    });
    expect(atRest).toEqual([false, true]);
  });

  it('once hibernated, is still at rest (a heap-budget passivation may take it)', () => {
    const { process, commit } = stored();
    commit();
    expect(process.hibernateAfterCommit(true, 0)).toBe(true);
    expect(process.hibernated).toBe(true);
    expect(process.atRest).toBe(true);
  });
});

describe('hibernating', () => {
  it('needs the store to say it is up to date', () => {
    const { process, commit } = stored();
    commit();
    expect(process.hibernateAfterCommit(false, 0)).toBe(false);
    expect(process.hibernateIfIdle(false)).toBe(false);
    expect(process.hibernateIfIdle(false)).toBe(false);
    expect(process.hibernated).toBe(false);
  });

  it('needs a snapshot to come back from (rehydrate)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    const process = node.processOf(pid) as StatemProcess;
    process.persistForCommit();
    expect(process.hibernateAfterCommit(true, 0)).toBe(false);
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernated).toBe(false);
  });

  it('happens once: an actor already hibernated is not hibernated (or counted) again', () => {
    const { process, commit } = stored();
    commit();
    expect(process.hibernateIfIdle(true)).toBe(false); // the first look only marks it
    expect(process.hibernateIfIdle(true)).toBe(true);
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernateAfterCommit(true, 0)).toBe(false);
    expect(process.hibernated).toBe(true);
  });

  it('never happens to an actor that has exited', () => {
    const { node, pid, process, commit } = stored();
    commit();
    process.hibernateIfIdle(true);
    node.exit(pid, 'kill');
    expect(process.hibernateIfIdle(true)).toBe(false);
    expect(process.hibernateAfterCommit(true, 0)).toBe(false);
    expect(process.hibernated).toBe(false);
  });

  it('after a commit waits for a timer due within the horizon, not for one due at it or later', () => {
    const { node, pid, process, commit } = stored();
    node.cast(pid, { type: 'arm' }); // due at 1 000
    commit();
    expect(process.hibernateAfterCommit(true, 1_001)).toBe(false);
    expect(process.hibernated).toBe(false);
    expect(process.hibernateAfterCommit(true, 1_000)).toBe(true);
    expect(process.hibernated).toBe(true);
  });

  it('keeps its timers: one falling due wakes it', () => {
    const { node, clock, pid, process, commit } = stored();
    node.cast(pid, { type: 'arm' });
    commit();
    expect(process.hibernateAfterCommit(true, 0)).toBe(true);
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.n).toBe(1);
    expect(process.hibernated).toBe(false);
  });

  it('whose snapshot is gone when the actor is next used crashes it with a reason naming it', () => {
    const { node, pid, process, commit, forget } = stored();
    commit();
    expect(process.hibernateAfterCommit(true, 0)).toBe(true);
    forget();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'inc' });
    expect(seen.down).toBe(true);
    expect((seen.reason as Error).message).toBe(`actor counter (${pid}) hibernated and its committed state is gone`);
  });
});

describe('records a migration moved out of a stored state (pendingRecords)', () => {
  it('go with the next commit, and the actor answers for them until then', () => {
    const { process } = stored({ pendingRecords: { 'order:1': { paid: true } } });
    expect(process.atRest).toBe(false);
    expect(process.recordOf('order:1')).toEqual({ paid: true });
    expect(process.persistForCommit().records).toEqual({ 'order:1': { paid: true } });
    expect(process.persistForCommit().records).toBeUndefined();
    expect(process.atRest).toBe(true);
  });

  it('none is no records: the commit carries none and the actor is at rest once committed', () => {
    const { process } = stored({ pendingRecords: {} });
    expect(process.persistForCommit()).not.toHaveProperty('records');
    expect(process.atRest).toBe(true);
  });
});
