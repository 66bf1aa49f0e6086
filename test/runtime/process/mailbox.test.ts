import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { nextEvent, spawnStatem, sys } from '../../../src/index.ts';
import { simulatedNode, stateOf } from '../statem/helpers.ts';

type Ev = { type: string; i?: number };

/** Records the `i` of every `n` it handles. */
const recorder = setup({ types: {} as { context: { seen: number[] }; events: Ev } }).createMachine({
  id: 'recorder',
  context: { seen: [] },
  on: { n: { actions: assign({ seen: ({ context, event }) => [...context.seen, event.i!] }) } },
});

const seen = (node: ReturnType<typeof simulatedNode>['node'], pid: Parameters<typeof sys.getState>[1]) =>
  stateOf<{ seen: number[] }>(node, pid).context.seen;

describe('a mailbox', () => {
  it('handles thousands of queued messages in the order they came, each once', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, recorder);
    sys.suspend(node, pid);
    const count = 5_000;
    for (let i = 0; i < count; i++) node.cast(pid, { type: 'n', i });
    expect(sys.statistics(node, pid).mailboxLength).toBe(count);
    sys.resume(node, pid);
    expect(seen(node, pid)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(sys.statistics(node, pid).mailboxLength).toBe(0);
  });

  it('counts only what is still waiting while the actor works through it', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, recorder);
    const waiting: number[] = [];
    sys.trace(node, pid, (entry) => {
      if (entry.kind === 'in') waiting.push(sys.statistics(node, pid).mailboxLength);
    });
    sys.suspend(node, pid);
    for (let i = 0; i < 4; i++) node.cast(pid, { type: 'n', i });
    sys.resume(node, pid);
    expect(waiting).toEqual([3, 2, 1, 0]);
  });
});

describe('events an actor inserts for itself (next_event)', () => {
  it('come first, ahead of those it inserted before, in the order given (gen_statem)', () => {
    const { node } = simulatedNode();
    const log: string[] = [];
    const chain = setup({ types: {} as { events: Ev } }).createMachine({
      id: 'chain',
      on: {
        go: { actions: [nextEvent({ type: 'a' }), nextEvent({ type: 'b' }), nextEvent({ type: 'c' })] },
        a: { actions: [() => void log.push('a'), nextEvent({ type: 'a1' }), nextEvent({ type: 'a2' })] },
        b: { actions: [() => void log.push('b'), nextEvent({ type: 'b1' })] },
        c: { actions: () => void log.push('c') },
        a1: { actions: () => void log.push('a1') },
        a2: { actions: () => void log.push('a2') },
        b1: { actions: () => void log.push('b1') },
      },
    });
    const pid = spawnStatem(node, chain);
    node.cast(pid, { type: 'go' });
    expect(log).toEqual(['a', 'a1', 'a2', 'b', 'b1', 'c']);
  });
});
