/**
 * What `sys.changeState` (the declarative replace_state of the REPL and the admin protocol) refuses,
 * and what it says: the message is all an operator at a REPL sees, so it must name the problem.
 * Whatever is refused, the actor is left as it was.
 */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { MAX_PATCH_OPERATIONS, MAX_STATE_BYTES, spawnStatem, sys } from '../../../src/index.ts';
import { simulatedNode } from '../statem/helpers.ts';

const machine = setup({ types: {} as { context: Record<string, unknown> } }).createMachine({
  id: 'target',
  context: { n: 0 },
  initial: 'a',
  states: { a: {}, b: { initial: 'x', states: { x: {}, y: {} } } },
});

function refusal(change: unknown): { code?: string; message: string } {
  const { node } = simulatedNode();
  const pid = spawnStatem(node, machine);
  const before = sys.getState(node, pid);
  try {
    sys.changeState(node, pid, change);
  } catch (error) {
    expect(sys.getState(node, pid)).toEqual(before);
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error('the change was not refused');
}

describe('a change that is not data', () => {
  it('a function or source text: data, not code', () => {
    for (const change of [() => ({ value: 'b' }), "({ value: 'b' })"]) {
      expect(refusal(change)).toEqual({
        code: 'STATE_CHANGE_NOT_DATA',
        message: expect.stringMatching(/^replace_state takes data, not code: send a JSON Patch, \{ patch: .* nothing sent to a node is run as code$/),
      });
    }
  });

  it.each([
    ['a number', 3],
    ['null', null],
    ['an array', [{ op: 'replace', path: '/n', value: 1 }]],
  ])('%s: says what a change looks like', (_label, change) => {
    expect(refusal(change)).toEqual({ code: 'STATE_CHANGE_INVALID', message: expect.stringMatching(/^replace_state takes \{ patch: \[/) });
  });

  it('a member other than patch and value: names each', () => {
    expect(refusal({ value: 'b', run: 1, eval: 2 })).toEqual({
      code: 'STATE_CHANGE_INVALID',
      message: 'replace_state\'s change has only "patch" and "value", not "run", "eval"',
    });
  });

  it('an empty change', () => {
    expect(refusal({})).toEqual({ code: 'STATE_CHANGE_INVALID', message: expect.stringMatching(/^replace_state's change is empty: give \{ patch/) });
  });

  it('a value that is not JSON data: says where', () => {
    expect(refusal({ patch: [{ op: 'add', path: '/d', value: new Map() }] }).message).toMatch(/^replace_state's change is not JSON data: /);
  });
});

describe('a patch', () => {
  it(`holds at most ${MAX_PATCH_OPERATIONS} operations`, () => {
    const op = { op: 'replace', path: '/n', value: 1 };
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    expect(sys.changeState(node, pid, { patch: Array.from({ length: MAX_PATCH_OPERATIONS }, () => op) }).context).toEqual({ n: 1 });
    expect(refusal({ patch: Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => op) })).toEqual({
      code: 'STATE_CHANGE_INVALID',
      message: `a patch holds at most ${MAX_PATCH_OPERATIONS} operations, got ${MAX_PATCH_OPERATIONS + 1}`,
    });
  });

  it(`may leave a context of ${MAX_STATE_BYTES} bytes of JSON, not one more`, () => {
    // {"n":0,"big":"…"}: 16 bytes around the string.
    const fits = 'x'.repeat(MAX_STATE_BYTES - 16);
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    expect(Buffer.byteLength(JSON.stringify({ n: 0, big: fits }))).toBe(MAX_STATE_BYTES);
    expect(sys.changeState(node, pid, { patch: [{ op: 'add', path: '/big', value: fits }] }).context).toEqual({ n: 0, big: fits });
    expect(refusal({ patch: [{ op: 'add', path: '/big', value: `${fits}x` }] })).toEqual({
      code: 'STATE_TOO_LARGE',
      message: `the patched context is ${MAX_STATE_BYTES + 1} bytes of JSON; the limit is ${MAX_STATE_BYTES}`,
    });
  });

  it('whose result nests the context too deep is refused as too large, saying why', () => {
    // Each operation is shallow enough as sent; together they nest the context past the limit.
    let chain: unknown = 1;
    for (let i = 0; i < 60; i++) chain = { d: chain };
    const path = (n: number) => `/deep${'/d'.repeat(n)}`;
    const patch = [{ op: 'add', path: '/deep', value: chain }, ...[60, 120].map((n) => ({ op: 'add', path: path(n), value: chain }))];
    expect(refusal({ patch })).toEqual({ code: 'STATE_TOO_LARGE', message: expect.stringMatching(/^the patched context is not within limits: .*nested deeper than/) });
  });

  it('that is empty leaves the context alone, even one that is not JSON data', () => {
    const { node } = simulatedNode();
    const dated = setup({ types: {} as { context: { at: Date } } }).createMachine({ id: 'dated', context: { at: new Date(0) }, initial: 'a', states: { a: {}, b: {} } });
    const pid = spawnStatem(node, dated);
    const result = sys.changeState(node, pid, { patch: [], value: 'b' });
    expect(result.value).toBe('b');
    expect((result.context as { at: Date }).at).toBeInstanceOf(Date);
  });
});

describe('a state value', () => {
  it.each([
    ['an empty name', '', '$.value'],
    ['an empty object', {}, '$.value'],
    ['a list', ['a'], '$.value'],
    ['a number', 3, '$.value'],
    ['an empty name inside', { b: '' }, '$.value.b'],
  ])('%s is refused, saying where', (_label, value, where) => {
    expect(refusal({ value })).toEqual({
      code: 'STATE_CHANGE_INVALID',
      message: `${where}: a state value is a state's name ('Active') or an object of them ({ Billing: 'Overdue' })`,
    });
  });

  it('nested, as an object of names, is taken', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    expect(sys.changeState(node, pid, { value: { b: 'y' } }).value).toEqual({ b: 'y' });
  });
});
