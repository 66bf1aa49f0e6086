/**
 * What a machine declares in its states' `meta` for the runtime (a state timeout, the events a
 * state postpones) is checked once, when the first actor of it is spawned; a malformed declaration
 * is refused with a message that names the state and says what is expected.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { spawnStatem } from '../../../src/index.ts';
import { simulatedNode, stateOf } from './helpers.ts';

type Ev = { type: string };

function refusal(meta: Record<string, unknown>): string {
  const { node } = simulatedNode();
  const machine = setup({}).createMachine({ id: 'declared', initial: 'a', states: { a: { meta } } });
  try {
    spawnStatem(node, machine);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    expect(node.stats.processes).toBe(0);
    return (error as Error).message;
  }
  throw new Error('the declaration was not refused');
}

describe('a declared state timeout', () => {
  it.each([
    ['not an object', 'soon', 'meta.stateTimeout of state "declared.a" must be { ms, event }'],
    ['null', null, 'meta.stateTimeout of state "declared.a" must be { ms, event }'],
    ['a negative time', { ms: -1, event: 'x' }, 'meta.stateTimeout of state "declared.a": ms must be a finite number ≥ 0, got -1'],
    ['an infinite time', { ms: Infinity, event: 'x' }, 'meta.stateTimeout of state "declared.a": ms must be a finite number ≥ 0, got Infinity'],
    ['a time as text', { ms: '10', event: 'x' }, 'meta.stateTimeout of state "declared.a": ms must be a finite number ≥ 0, got 10'],
    ['no event', { ms: 10 }, 'meta.stateTimeout of state "declared.a": event must be an event type or an event object with a string type'],
    ['an event without a type', { ms: 10, event: { kind: 'x' } }, 'meta.stateTimeout of state "declared.a": event must be an event type or an event object with a string type'],
    ['a null event', { ms: 10, event: null }, 'meta.stateTimeout of state "declared.a": event must be an event type or an event object with a string type'],
  ])('%s is refused, saying what is expected', (_label, stateTimeout, message) => {
    expect(refusal({ stateTimeout })).toBe(message);
  });

  it('of 0 ms, with its event as a type or an object, is taken', () => {
    const { node } = simulatedNode();
    const machine = setup({ types: {} as { context: { got: string[] }; events: Ev } }).createMachine({
      id: 'quick',
      context: { got: [] },
      initial: 'a',
      states: {
        a: { meta: { stateTimeout: { ms: 0, event: 'toB' } }, on: { toB: 'b' } },
        b: { meta: { stateTimeout: { ms: 0, event: { type: 'toC', why: 'object' } } }, on: { toC: 'c' } },
        c: { entry: assign({ got: () => ['c'] }) },
      },
    });
    const pid = spawnStatem(node, machine);
    expect(stateOf(node, pid).value).toBe('c');
  });
});

describe('a postpone declaration', () => {
  it.each([
    ['a word', 'later'],
    ['a list with an empty type', ['a', '']],
    ['a list with a number', [1]],
    ['a list with a list of types', [['a']]],
  ])('%s is refused, saying what is expected', (_label, postpone) => {
    expect(refusal({ postpone })).toBe('meta.postpone of state "declared.a" must be a list of event types or a function (event) => boolean');
  });

  it('as a function decides for each event; on the root it holds in every state', () => {
    const { node } = simulatedNode();
    const machine = setup({ types: {} as { context: { got: string[] }; events: Ev } }).createMachine({
      id: 'keeper',
      context: { got: [] },
      meta: { postpone: (event: Ev) => event.type.startsWith('later') },
      initial: 'closed',
      states: {
        closed: { on: { open: 'open' } },
        open: { on: { '*': { actions: assign({ got: ({ context, event }) => [...context.got, event.type] }) } } },
      },
    });
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'later-1' });
    node.cast(pid, { type: 'later-2' });
    expect(stateOf<{ got: string[] }>(node, pid).context.got).toEqual([]);
    node.cast(pid, { type: 'open' });
    expect(stateOf<{ got: string[] }>(node, pid).context.got).toEqual(['later-1', 'later-2']);
  });
});
