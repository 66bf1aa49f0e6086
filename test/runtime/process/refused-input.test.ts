import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { spawnStatem } from '../../../src/index.ts';
import { simulatedNode } from '../statem/helpers.ts';

// A malformed message or address is the sender's bug: refused to the sender with a TypeError
// whose message shows what was given, however odd (null, a bigint inside, a cycle, no prototype).

const MESSAGE = 'a message must be an object with a non-empty string "type" (not "*", not "xstate.…" other than "xstate.route", not "governor.terminate"), got ';
const ADDRESS = 'an address must be a pid, a registered name, { name, node } or { entity, key }, got ';

function bigintInside(): unknown {
  return { type: 1n };
}
function cycle(): unknown {
  const value: Record<string, unknown> = { type: 7 };
  value['self'] = value;
  return value;
}
function bare(): unknown {
  const value = Object.create(null) as Record<string, unknown>;
  value['n'] = 1n;
  return value;
}

describe('a malformed message', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['a number', 42, '42'],
    ['a string', 'inc', '"inc"'],
    ['a type that is not a string', { type: 7 }, '{"type":7}'],
    ['undefined', undefined, 'undefined'],
    ['a bigint inside', bigintInside(), '[object Object]'],
    ['a cycle', cycle(), '[object Object]'],
    ['an object without a prototype JSON cannot write', bare(), '[object Object]'],
  ])('%s is refused, and the error shows it', (_label, event, shown) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, createMachine({ id: 'm' }));
    expect(() => node.cast(pid, event as never)).toThrow(new TypeError(MESSAGE + shown));
  });
});

describe('a malformed address', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['an empty name', '', '""'],
    ['an array', ['svc', 'n1'], '["svc","n1"]'],
    ['{ name, node } with an empty node', { name: 'svc', node: '' }, '{"name":"svc","node":""}'],
    ['{ name, node } with an empty name', { name: '', node: 'n1' }, '{"name":"","node":"n1"}'],
    ['{ name, node } with a name that is not a string', { name: 7, node: 'n1' }, '{"name":7,"node":"n1"}'],
    ['{ name } without a node', { name: 'svc' }, '{"name":"svc"}'],
    ['{ entity } without a key', { entity: 'Account' }, '{"entity":"Account"}'],
    ['a symbol', Symbol('svc'), 'Symbol(svc)'],
  ])('%s is refused, and the error shows it', (_label, address, shown) => {
    const { node } = simulatedNode();
    expect(() => node.cast(address as never, { type: 'inc' })).toThrow(new TypeError(ADDRESS + shown));
  });
});

describe('a call timeout that is not a number of milliseconds ≥ 0 or Infinity', () => {
  it.each([-1, Number.NaN, -Infinity, '100' as unknown as number])('(%s) is refused, and the error shows it', async (timeout) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, createMachine({ id: 'm' }));
    await expect(node.call(pid, { type: 'get' }, { timeout })).rejects.toThrow(
      new TypeError(`call timeout must be a number of milliseconds ≥ 0 or Infinity, got ${String(timeout)}`),
    );
  });
});
