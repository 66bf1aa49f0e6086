/**
 * An actor's journal at the runtime: entries appended with `appendJournal` leave with the next
 * commit (`persistForCommit`), in order and once, and the persisted state counts every entry the
 * journal holds once committed (`journalLength`), so a store can check state and history agree.
 */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { appendJournal, spawnStatem, type PersistedActorState, type StatemProcess } from '../../src/index.ts';
import { simulatedNode, watch } from './statem/helpers.ts';

type Ev = { type: 'note'; entries: unknown } | { type: 'quiet' };

/** `note` appends the entries it carries; `quiet` changes nothing. */
const ledger = setup({ types: {} as { events: Ev } }).createMachine({
  id: 'ledger',
  initial: 'open',
  states: {
    open: {
      on: {
        note: { actions: appendJournal(({ event }) => (event as { entries: unknown }).entries) },
        quiet: {},
      },
    },
  },
});

/** The ledger, committing after every step: each commit's persisted state is kept. */
function committing(options: { journal?: unknown[]; restore?: PersistedActorState } = {}) {
  const { node } = simulatedNode();
  const commits: PersistedActorState[] = [];
  const pid = spawnStatem(node, ledger, { ...options, afterStep: (process: StatemProcess) => commits.push(process.persistForCommit()) });
  return { node, pid, commits };
}

describe('the journal', () => {
  it('takes the entries appended since the last commit, in order, once; the state counts them all', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'note', entries: ['a', 'b'] });
    node.cast(pid, { type: 'quiet' });
    node.cast(pid, { type: 'note', entries: [{ c: 1 }] });
    expect(commits.map((c) => [c.journal, c.journalLength])).toEqual([
      [['a', 'b'], 2],
      [undefined, 2],
      [[{ c: 1 }], 3],
    ]);
  });

  it('is not in a persisted state while nothing was appended (no journalLength, no journal)', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'quiet' });
    expect(commits[0]).not.toHaveProperty('journal');
    expect(commits[0]).not.toHaveProperty('journalLength');
  });

  it('an append of no entries leaves the count where it was', () => {
    const { node, pid, commits } = committing();
    node.cast(pid, { type: 'note', entries: ['a'] });
    node.cast(pid, { type: 'note', entries: [] });
    expect(commits.at(-1)?.journalLength).toBe(1);
  });

  it('entries that are not an array crash the actor with a TypeError that says what is wanted', () => {
    const { node, pid, commits } = committing();
    const seen = watch(node, pid);
    node.cast(pid, { type: 'note', entries: 'a' });
    expect(seen.reason).toBeInstanceOf(TypeError);
    expect((seen.reason as Error).message).toContain('entries must be an array');
    expect(commits).toEqual([]);
  });

  it('a restored state keeps counting from its journalLength; entries given at start go with the next commit', () => {
    const { node } = simulatedNode();
    const earlier = node.processOf(spawnStatem(node, ledger)) as StatemProcess;
    const restore: PersistedActorState = { ...earlier.persist(), journalLength: 6 };
    const { node: other, pid, commits } = committing({ restore, journal: ['migrated'] });
    other.cast(pid, { type: 'note', entries: ['x'] });
    expect(commits).toEqual([expect.objectContaining({ journal: ['migrated', 'x'], journalLength: 7 })]);
  });

  it('no journal given at start (an empty one) adds nothing to the next commit', () => {
    const { node, pid, commits } = committing({ journal: [] });
    node.cast(pid, { type: 'quiet' });
    expect(commits[0]).not.toHaveProperty('journal');
  });
});
