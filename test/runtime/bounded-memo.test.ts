import { describe, expect, it } from 'vitest';
import { BoundedMemo } from '../../src/runtime/bounded-memo.ts';

describe('BoundedMemo', () => {
  it('computes a key once and answers it from memory after', () => {
    const computed: string[] = [];
    const memo = new BoundedMemo((key) => (computed.push(key), key.length));
    expect([memo.get('abc'), memo.get('abc'), memo.get('de')]).toEqual([3, 3, 2]);
    expect(computed).toEqual(['abc', 'de']);
  });

  it('never holds more keys than its limit: full, it starts over and recomputes what is asked again', () => {
    const computed: string[] = [];
    const memo = new BoundedMemo((key) => (computed.push(key), key.toUpperCase()), 3);
    for (const key of ['a', 'b', 'c', 'd', 'a']) memo.get(key);
    expect(memo.size).toBeLessThanOrEqual(3);
    expect(computed).toEqual(['a', 'b', 'c', 'd', 'a']);
    expect(memo.get('a')).toBe('A');
  });

  it('keeps every key it has room for: a key asked again after others is not recomputed', () => {
    const computed: string[] = [];
    const memo = new BoundedMemo((key) => (computed.push(key), key.length), 3);
    for (const key of ['a', 'bb', 'a', 'ccc', 'bb', 'a']) memo.get(key);
    expect(computed).toEqual(['a', 'bb', 'ccc']);
    expect(memo.size).toBe(3);
  });

  it('with a limit of 1, remembers the last key', () => {
    const computed: string[] = [];
    const memo = new BoundedMemo((key) => (computed.push(key), key), 1);
    for (const key of ['a', 'a', 'b', 'b', 'a']) memo.get(key);
    expect(computed).toEqual(['a', 'b', 'a']);
    expect(memo.size).toBe(1);
  });

  it('remembers nothing for a key whose computation throws', () => {
    let calls = 0;
    const memo = new BoundedMemo(() => {
      calls++;
      throw new Error('no value');
    });
    expect(() => memo.get('k')).toThrow('no value');
    expect(() => memo.get('k')).toThrow('no value');
    expect([calls, memo.size]).toEqual([2, 0]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s', (limit) => {
    expect(() => new BoundedMemo(String, limit)).toThrow(/positive integer/);
  });
});
