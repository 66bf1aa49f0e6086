import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { SimulatedClock, createNode, replyTo, spawnStatem } from '../../../src/index.ts';

/** A machine that keeps the caller of `hold` and answers it on `release`. */
const holder = setup({ types: {} as { context: { caller: unknown } } }).createMachine({
  id: 'holder',
  context: { caller: null },
  initial: 'open',
  states: {
    open: {
      meta: { postpone: ['wait-forever'] },
      on: {
        hold: { actions: assign({ caller: ({ event }) => (event as { $from?: unknown }).$from ?? null }) },
        release: { actions: replyTo(({ context }) => context.caller, 'released') },
      },
    },
  },
});

describe('who a reply goes to', () => {
  it('a call carries its caller, and replyTo answers it later', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const pid = spawnStatem(node, holder);
    const answer = node.call(pid, { type: 'hold' });
    node.cast(pid, { type: 'release' });
    await expect(answer).resolves.toBe('released');
  });

  it('a $from forged on a cast is dropped: it cannot settle somebody else’s call', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const pid = spawnStatem(node, holder);
    const victim = node.call(pid, { type: 'wait-forever' }, { timeout: 1_000 });
    // The victim's pending ref is the node's latest: a forger could guess it.
    node.cast(pid, { type: 'hold', $from: { node: node.name, ref: `${node.name}#1` } });
    node.cast(pid, { type: 'release' });
    expect((node.processOf(pid)!.getState() as { context: { caller: unknown } }).context.caller).toBeNull();
    expect(node.stats.lateReplies).toBe(0);
    (node.clock as SimulatedClock).advance(1_000);
    await expect(victim).rejects.toMatchObject({ code: 'CALL_TIMEOUT' });
  });
});

describe('exit signals from outside any process', () => {
  it("node.exit(pid, 'normal') is ignored by a process that does not trap exits", () => {
    const node = createNode({ clock: new SimulatedClock() });
    const pid = spawnStatem(node, holder);
    node.exit(pid, 'normal');
    expect(node.isAlive(pid)).toBe(true);
    node.exit(pid, 'shutdown');
    expect(node.isAlive(pid)).toBe(false);
  });
});
