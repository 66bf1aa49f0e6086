import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { spawnStatem, sys } from '../../../src/index.ts';
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
});
