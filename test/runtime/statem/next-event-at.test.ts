import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { SimulatedClock, createNode, nextEventAt, spawnStatem, sys } from '../../../src/index.ts';

/** A stamp: on `go`, the machine asks for `done` with the runtime clock's time and keeps it. */
const stamp = setup({ types: {} as { context: { at: number | null }; events: { type: 'go' } | { type: 'done'; at: number } } }).createMachine({
  id: 'stamp',
  context: { at: null },
  initial: 'idle',
  states: {
    idle: { on: { go: { target: 'busy', actions: nextEventAt({ type: 'done' }) } } },
    busy: { on: { done: { target: 'idle', actions: assign({ at: ({ event }) => event.at }) } } },
  },
});

describe('nextEventAt', () => {
  it("handles the event next, with the runtime clock's time as `at`", () => {
    const clock = new SimulatedClock(5_000);
    const node = createNode({ clock });
    const pid = spawnStatem(node, stamp);
    clock.advance(1_234);
    node.cast(pid, { type: 'go' });
    expect(sys.getState(node, pid)).toMatchObject({ value: 'idle', context: { at: 6_234 } });
  });
});
