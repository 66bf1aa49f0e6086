import { describe, expect, it } from 'vitest';
import { toJsonSafe } from '../../src/cli/json-safe.ts';

describe('toJsonSafe', () => {
  it('turns Maps, Sets, Errors, Dates, bigints and functions into plain JSON', () => {
    const value = { m: new Map([['a', 1]]), s: new Set([1, 2]), e: new TypeError('x'), d: new Date(0), n: 10n, f: () => 1, u: undefined };
    expect(toJsonSafe(value)).toEqual({ m: { a: 1 }, s: [1, 2], e: { error: 'TypeError', message: 'x' }, d: '1970-01-01T00:00:00.000Z', n: '10', f: null, u: null });
  });

  it('marks cycles instead of throwing, but keeps a shared object seen twice', () => {
    const shared = { k: 1 };
    const cyclic: Record<string, unknown> = { a: shared, b: shared };
    cyclic.self = cyclic;
    expect(toJsonSafe(cyclic)).toEqual({ a: { k: 1 }, b: { k: 1 }, self: '[circular]' });
  });
});
