import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, canonicalDigest, sha256Hex } from '../../src/marketplace/canonical-json.ts';
import { CanonicalEncodingError } from '../../src/marketplace/errors.ts';

describe('canonical JSON encoding', () => {
  it('sorts keys, drops whitespace and leaves out undefined properties', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 0, y: -0 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":0,"z":0}}',
    );
  });

  it('orders keys by UTF-16 code units, as RFC 8785 does', () => {
    expect(canonicalJson({ '\u00e9': 1, z: 2, Z: 3, '\ud83d\ude00': 4, '\ufb01': 5 })).toBe(
      '{"Z":3,"z":2,"\u00e9":1,"\ud83d\ude00":4,"\ufb01":5}',
    );
  });

  it('gives the same bytes whatever the key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
  });

  it('round-trips through JSON.parse to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it.each([
    ['NaN', { a: Number.NaN }, '$.a'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0]'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['a bigint', { n: 1n }, '$.n'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['a Map', new Map(), '$'],
    ['a symbol key', { [Symbol('s')]: 1 }, '$'],
  ])('refuses %s and names where it is', (_name, value, path) => {
    try {
      canonicalJson(value);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(CanonicalEncodingError);
      expect((error as CanonicalEncodingError).code).toBe('CANONICAL_ENCODING');
      expect((error as CanonicalEncodingError).path).toBe(path);
    }
  });

  it('refuses cycles and absurd nesting, but not shared references', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/deeper/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('hashes with SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(canonicalDigest({ b: 1, a: 2 })).toBe(sha256Hex('{"a":2,"b":1}'));
  });
});
