/**
 * JSON data as the runtime takes it from outside (a `replace_state` from the admin REPL): a fresh
 * copy of null, booleans, finite numbers, strings, arrays and plain objects of any realm, or a
 * {@link NotJsonDataError} naming the first place that is not JSON data. Copying runs no code of
 * the value's (no getter, no `toJSON`).
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, NotJsonDataError, jsonData } from '../../src/runtime/json-data.ts';

/** The error `jsonData` throws for `value`, or `undefined` when it takes it. */
function refusal(value: unknown, options?: Parameters<typeof jsonData>[1]): NotJsonDataError | undefined {
  try {
    jsonData(value, options);
  } catch (error) {
    if (error instanceof NotJsonDataError) return error;
    throw error;
  }
  return undefined;
}

/** `levels` arrays, each inside the next: `[[[]]]` is 3. */
function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

describe('JSON data taken', () => {
  it('copies null, booleans, finite numbers, strings, arrays and plain objects as they are', () => {
    const value = { n: -1.5, z: 0, s: 'é', t: true, f: false, nothing: null, list: [1, 'two', [null], { deep: [] }] };
    const copy = jsonData(value);
    expect(copy).toEqual(value);
    expect(copy).not.toBe(value);
    expect((copy as typeof value).list).not.toBe(value.list);
    expect((copy as typeof value).list[3]).not.toBe(value.list[3]);
    for (const primitive of [null, 'x', '', true, false, 0, 42]) expect(jsonData(primitive)).toBe(primitive);
  });

  it('leaves out members that are undefined, as JSON does, and makes undefined array elements null', () => {
    expect(jsonData({ a: 1, gone: undefined })).toStrictEqual({ a: 1 });
    expect(jsonData([1, undefined, 3])).toStrictEqual([1, null, 3]);
  });

  it('takes a plain object of another realm (the REPL’s vm context), and one without a prototype, as objects of this one', () => {
    const foreign = runInNewContext('({ a: { b: [1, 2] } })') as unknown;
    const copy = jsonData(foreign) as { a: object };
    expect(copy).toEqual({ a: { b: [1, 2] } });
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(copy.a)).toBe(Object.prototype);
    const bare = Object.assign(Object.create(null) as object, { x: 1 });
    expect(jsonData(bare)).toEqual({ x: 1 });
    expect(Object.getPrototypeOf(jsonData(bare))).toBe(Object.prototype);
  });

  it('gives data the caller may change: members can be set, added and deleted', () => {
    const copy = jsonData({ a: 1, inner: { b: 2 } }) as Record<string, unknown> & { inner: Record<string, unknown> };
    copy.a = 10;
    copy.inner.b = 20;
    delete copy.inner.b;
    copy.c = 3;
    expect(copy).toEqual({ a: 10, inner: {}, c: 3 });
    expect(Object.keys(copy)).toEqual(['a', 'inner', 'c']);
  });

  it('takes the same object twice in one value (it is not a cycle)', () => {
    const shared = { n: 1 };
    expect(jsonData({ x: shared, y: [shared, shared] })).toEqual({ x: { n: 1 }, y: [{ n: 1 }, { n: 1 }] });
  });

  it('skips members that are not enumerable', () => {
    const value = Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false });
    expect(jsonData(value)).toStrictEqual({ shown: 1 });
  });

  it('keeps a member named __proto__ as a member, never as the copy’s prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "prototype": 2}') as object;
    const copy = jsonData(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(copy.polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(['__proto__', 'constructor', 'prototype']);
  });

  it('nests as deep as maxDepth allows (64 by default)', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(jsonData(nested(64))).toEqual(nested(64));
    expect(jsonData({ a: { b: 1 } }, { maxDepth: 2 })).toEqual({ a: { b: 1 } });
  });
});

describe('what is not JSON data is refused, naming where', () => {
  it.each([
    [Number.NaN, '$', 'NaN is not a JSON number'],
    [{ x: Infinity }, '$.x', 'Infinity is not a JSON number'],
    [[1, -Infinity], '$[1]', '-Infinity is not a JSON number'],
    [undefined, '$', 'a undefined is not JSON data'],
    [{ f: () => 1 }, '$.f', 'a function is not JSON data'],
    [{ big: 1n }, '$.big', 'a bigint is not JSON data'],
    [[Symbol('s')], '$[0]', 'a symbol is not JSON data'],
    [{ when: new Date(0) }, '$.when', 'a Date, not a plain object'],
    [{ m: new Map() }, '$.m', 'a Map, not a plain object'],
    [{ t: { [Symbol.toStringTag]: 'Tagged' } }, '$.t', 'a Object, not a plain object'],
    [{ s: { [Symbol('k')]: 1 } }, '$.s', 'symbol keys are not JSON data'],
  ])('%o at %s: %s', (value, where, reason) => {
    const error = refusal(value);
    expect(error).toBeInstanceOf(NotJsonDataError);
    expect(error).toMatchObject({ where, reason, name: 'NotJsonDataError', message: `${where}: ${reason}` });
  });

  it('an instance of a class, however plain it looks', () => {
    class Money {
      amount = 1;
    }
    expect(refusal({ price: new Money() })).toMatchObject({ where: '$.price', reason: 'a Money, not a plain object' });
    const orphan = Object.create(Object.create(Object.prototype) as object) as object;
    expect(refusal(orphan)).toMatchObject({ where: '$', reason: 'a Object, not a plain object' });
  });

  it('an object without a constructor that is not plain either', () => {
    const nameless = Object.create(null) as Record<PropertyKey, unknown>;
    nameless[Symbol.toStringTag] = 'Odd';
    expect(refusal(nameless)).toMatchObject({ where: '$', reason: 'a special object, not a plain object' });
  });

  it('a getter, without calling it', () => {
    let called = false;
    const value = {
      ok: 1,
      get secret() {
        called = true;
        return 1;
      },
    };
    expect(refusal({ inner: value })).toMatchObject({ where: '$.inner.secret', reason: 'a getter, not JSON data' });
    expect(called).toBe(false);
  });

  it('a hole or an accessor in an array', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(refusal([1, , 3])).toMatchObject({ where: '$[1]', reason: 'a hole or an accessor, not JSON data' });
    const withGetter = Object.defineProperty([0, 0], 0, { get: () => 1, enumerable: true });
    expect(refusal({ list: withGetter })).toMatchObject({ where: '$.list[0]', reason: 'a hole or an accessor, not JSON data' });
  });

  it('a value that contains itself', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { again: cyclic };
    expect(refusal(cyclic)).toMatchObject({ where: '$.self.again', reason: 'it contains itself' });
    const list: unknown[] = [];
    list.push(list);
    expect(refusal(list)).toMatchObject({ where: '$[0]', reason: 'it contains itself' });
  });

  it('nesting deeper than maxDepth', () => {
    expect(refusal(nested(65))).toMatchObject({ where: `$${'[0]'.repeat(64)}`, reason: 'nested deeper than 64 levels' });
    expect(refusal({ a: { b: {} } }, { maxDepth: 2 })).toMatchObject({ where: '$.a.b', reason: 'nested deeper than 2 levels' });
  });

  it('with refuseForbiddenKeys, a member named __proto__, constructor or prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const value = JSON.parse(`{"data": {"${key}": {}}}`) as unknown;
      expect(refusal(value, { refuseForbiddenKeys: true })).toMatchObject({ where: `$.data.${key}`, reason: `a member named "${key}" is refused` });
      expect(refusal(value)).toBeUndefined();
    }
    expect(jsonData({ ok: 1 }, { refuseForbiddenKeys: true })).toEqual({ ok: 1 });
  });
});
