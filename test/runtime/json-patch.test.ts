import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, JsonPatchError, parseJsonPatch } from '../../src/runtime/json-patch.ts';

const apply = (doc: unknown, patch: unknown) => applyJsonPatch(doc, parseJsonPatch(patch));
const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof JsonPatchError ? error.code : `not a JsonPatchError: ${String(error)}`;
  }
};

describe('JSON Patch (RFC 6902), the examples of its appendix A', () => {
  it.each([
    ['A.1 add an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
    ['A.2 add an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['A.3 remove an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['A.4 remove an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['A.5 replace a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    [
      'A.6 move a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    ['A.7 move an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }], { foo: ['all', 'cows', 'eat', 'grass'] }],
    [
      'A.8 test passes',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    ['A.10 add a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['A.11 ignore unrecognised members', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
    ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['A.16 add an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
    ['copy', { a: { b: 1 } }, [{ op: 'copy', from: '/a', path: '/c' }], { a: { b: 1 }, c: { b: 1 } }],
    ['replace the whole document', { a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }], { b: 2 }],
    ['test objects regardless of member order', { a: { x: 1, y: [1, 2] } }, [{ op: 'test', path: '/a', value: { y: [1, 2], x: 1 } }], { a: { x: 1, y: [1, 2] } }],
  ])('%s', (_name, doc, patch, expected) => {
    expect(apply(doc, patch)).toEqual(expected);
  });

  it.each([
    ['A.9 a failing test', { baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }], 'PATCH_TEST_FAILED'],
    ['A.12 add to a nonexistent target', { foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }], 'PATCH_PATH_NOT_FOUND'],
    ['A.15 comparing strings and numbers', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }], 'PATCH_TEST_FAILED'],
    ['remove a missing member', { a: 1 }, [{ op: 'remove', path: '/b' }], 'PATCH_PATH_NOT_FOUND'],
    ['replace a missing member', { a: 1 }, [{ op: 'replace', path: '/b', value: 2 }], 'PATCH_PATH_NOT_FOUND'],
    ['remove past the end of an array', { a: [1] }, [{ op: 'remove', path: '/a/1' }], 'PATCH_PATH_NOT_FOUND'],
    ['add past the end of an array', { a: [1] }, [{ op: 'add', path: '/a/2', value: 0 }], 'PATCH_PATH_NOT_FOUND'],
    ['an index with a leading zero', { a: [1, 2] }, [{ op: 'remove', path: '/a/01' }], 'PATCH_INVALID'],
    ['"-" outside add', { a: [1] }, [{ op: 'remove', path: '/a/-' }], 'PATCH_INVALID'],
    ['move a value into its own child', { a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], 'PATCH_INVALID'],
    ['copy from a missing path', { a: 1 }, [{ op: 'copy', from: '/x', path: '/y' }], 'PATCH_PATH_NOT_FOUND'],
  ])('%s is refused', (_name, doc, patch, code) => {
    expect(codeOf(() => apply(doc, patch))).toBe(code);
  });

  it.each([
    ['not an array', { op: 'add', path: '/a', value: 1 }],
    ['an unknown op', [{ op: 'merge', path: '/a', value: 1 }]],
    ['a path without its leading slash', [{ op: 'remove', path: 'a' }]],
    ['a path that is not a string', [{ op: 'remove', path: 3 }]],
    ['a bad ~ escape', [{ op: 'remove', path: '/a~2' }]],
    ['add without a value', [{ op: 'add', path: '/a' }]],
    ['move without from', [{ op: 'move', path: '/a' }]],
    ['an operation that is not an object', ['remove /a']],
  ])('a malformed patch (%s) is refused before anything is applied', (_name, patch) => {
    expect(codeOf(() => parseJsonPatch(patch))).toBe('PATCH_INVALID');
  });

  it.each(['/__proto__/polluted', '/constructor/prototype/polluted', '/a/prototype', '/a/__proto__'])('refuses the prototype path %s', (path) => {
    expect(codeOf(() => parseJsonPatch([{ op: 'add', path, value: true }]))).toBe('PATCH_FORBIDDEN_PATH');
    expect(codeOf(() => parseJsonPatch([{ op: 'copy', from: path, path: '/b' }]))).toBe('PATCH_FORBIDDEN_PATH');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('all or nothing: whatever fails, the input is unchanged, and on success it is not shared with the result', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constantFrom('add', 'replace', 'test'), path: fc.constantFrom('', '/a', '/a/0', '/a/-', '/b', '/b/c', '/x'), value: fc.jsonValue({ maxDepth: 2 }) }),
      fc.record({ op: fc.constant('remove'), path: fc.constantFrom('/a', '/a/0', '/a/1', '/b/c', '/x') }),
      fc.record({ op: fc.constantFrom('move', 'copy'), from: fc.constantFrom('/a', '/a/0', '/b', '/b/c'), path: fc.constantFrom('/a/0', '/b/d', '/x', '/a/-') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 6 }), (patch) => {
        const doc = { a: [1, { k: 'v' }], b: { c: 'c' } };
        const before = JSON.stringify(doc);
        try {
          const result = applyJsonPatch(doc, parseJsonPatch(patch)) as Record<string, unknown> | null;
          if (result && typeof result === 'object' && Array.isArray(result.a) && result.a.length > 0) (result.a as unknown[]).push('mutated');
        } catch (error) {
          expect(error).toBeInstanceOf(JsonPatchError);
        }
        expect(JSON.stringify(doc)).toBe(before);
      }),
      { numRuns: 500 },
    );
  });
});

/** The error a patch fails with, as the admin who sent it reads it. */
const failure = (run: () => unknown): { code: string; index?: number; message: string } | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonPatchError)) throw error;
    return { code: error.code, index: error.index, message: error.message };
  }
};

describe('a refused patch says which operation failed and why', () => {
  it.each([
    [{}, { op: 'add' }, 'PATCH_INVALID', undefined, 'a JSON Patch is an array of operations, e.g. [{ op: "replace", path: "/n", value: 1 }]'],
    [{}, [null], 'PATCH_INVALID', 0, 'patch operation 0: an operation is an object { op, path, … }'],
    [{}, ['remove /a'], 'PATCH_INVALID', 0, 'patch operation 0: an operation is an object { op, path, … }'],
    [{}, [{ op: 'test', path: '', value: {} }, [1]], 'PATCH_INVALID', 1, 'patch operation 1: an operation is an object { op, path, … }'],
    [{}, [{ op: 5, path: '/a' }], 'PATCH_INVALID', 0, 'patch operation 0: op must be one of add, remove, replace, move, copy, test, got 5'],
    [{}, [{ op: 'merge', path: '/a' }], 'PATCH_INVALID', 0, 'patch operation 0: op must be one of add, remove, replace, move, copy, test, got "merge"'],
    [{}, [{ op: 'remove', path: 3 }], 'PATCH_INVALID', 0, 'patch operation 0: path must be a JSON Pointer string such as "/data/balance"'],
    [{}, [{ op: 'move', path: '/a' }], 'PATCH_INVALID', 0, 'patch operation 0: from must be a JSON Pointer string such as "/data/balance"'],
    [{}, [{ op: 'remove', path: 'a' }], 'PATCH_INVALID', 0, 'patch operation 0: path "a" must start with "/" (or be "" for the whole document)'],
    [{}, [{ op: 'remove', path: '/a~2' }], 'PATCH_INVALID', 0, 'patch operation 0: path "/a~2": "~" must be followed by 0 or 1'],
    [{}, [{ op: 'remove', path: '/a~' }], 'PATCH_INVALID', 0, 'patch operation 0: path "/a~": "~" must be followed by 0 or 1'],
    [{}, [{ op: 'add', path: '/constructor', value: 1 }], 'PATCH_FORBIDDEN_PATH', 0, 'patch operation 0: path "/constructor" names "constructor", which is never data'],
    [{}, [{ op: 'copy', from: '/__proto__', path: '/b' }], 'PATCH_FORBIDDEN_PATH', 0, 'patch operation 0: from "/__proto__" names "__proto__", which is never data'],
    [{}, [{ op: 'add', path: '/a', value: undefined }], 'PATCH_INVALID', 0, 'patch operation 0: add needs a value'],
    [{ a: { b: 1 } }, [{ op: 'test', path: '/a/b', value: 1 }, { op: 'move', from: '/a', path: '/a/b/c' }], 'PATCH_INVALID', 1, 'patch operation 1: cannot move /a into its own child /a/b/c'],
    [{ a: [1] }, [{ op: 'remove', path: '/a/1x' }], 'PATCH_INVALID', 0, 'patch operation 0: "1x" in /a/1x is not an array index'],
    [{ a: 1 }, [{ op: 'test', path: '/a', value: 2 }], 'PATCH_TEST_FAILED', 0, 'patch operation 0: test failed: /a is not 2'],
    [{ a: 1 }, [{ op: 'test', path: '', value: 2 }], 'PATCH_TEST_FAILED', 0, 'patch operation 0: test failed: (the document) is not 2'],
    [{ a: 1 }, [{ op: 'remove', path: '/b' }], 'PATCH_PATH_NOT_FOUND', 0, 'patch operation 0: /b does not exist'],
    [{ a: 1 }, [{ op: 'remove', path: '' }, { op: 'test', path: '', value: 2 }], 'PATCH_PATH_NOT_FOUND', 1, 'patch operation 1: (the document) does not exist'],
  ])('%j patched with %j: %s at %s', (doc, patch, code, index, message) => {
    expect(failure(() => apply(doc, patch))).toEqual({ code, index, message });
  });
});

describe('JSON Patch at its edges', () => {
  it('reads "~1" as "/" and "~0" as "~" in a pointer', () => {
    expect(apply({ '/': 9, '~': 8, 'a/b~c': 7 }, [{ op: 'copy', from: '/~1', path: '/x' }, { op: 'copy', from: '/~0', path: '/y' }, { op: 'remove', path: '/a~1b~0c' }])).toEqual({ '/': 9, '~': 8, x: 9, y: 8 });
  });

  it('moves a value onto itself without changing anything, not even the order of members, once its source exists', () => {
    const moved = apply({ a: 1, b: 2 }, [{ op: 'move', from: '/a', path: '/a' }]) as object;
    expect(Object.keys(moved)).toEqual(['a', 'b']);
    expect(failure(() => apply({ a: 1 }, [{ op: 'move', from: '/x', path: '/x' }]))?.code).toBe('PATCH_PATH_NOT_FOUND');
  });

  it('copies a value into its own child (only a move cannot)', () => {
    expect(apply({ a: { b: 1 } }, [{ op: 'copy', from: '/a', path: '/a/c' }])).toEqual({ a: { b: 1, c: { b: 1 } } });
  });

  it('finds nothing below a value that is not a container (null, a string, a number)', () => {
    const doc = { z: null, s: 'abc', n: 1 };
    for (const path of ['/z/b', '/z/b/c', '/s/length', '/s/0', '/n/x/y']) {
      expect(failure(() => apply(doc, [{ op: 'test', path, value: 3 }]))?.code).toBe('PATCH_PATH_NOT_FOUND');
      expect(failure(() => apply(doc, [{ op: 'add', path, value: 3 }]))?.code).toBe('PATCH_PATH_NOT_FOUND');
    }
  });

  it('takes array indices of more than one digit', () => {
    const list = Array.from({ length: 12 }, (_, i) => i);
    expect(apply({ list }, [{ op: 'remove', path: '/list/10' }])).toEqual({ list: list.filter((i) => i !== 10) });
  });

  it('returns data the caller may change, members added by the patch included', () => {
    const result = apply({ a: 1 }, [{ op: 'add', path: '/b', value: 2 }]) as Record<string, number>;
    result.a = 10;
    result.b = 20;
    expect(result).toEqual({ a: 10, b: 20 });
  });

  it('creates a document that is absent', () => {
    expect(applyJsonPatch(undefined, [])).toBeUndefined();
    expect(apply(undefined, [{ op: 'add', path: '', value: { a: 1 } }])).toEqual({ a: 1 });
  });

  it.each([
    ['a number and an object', { v: 1 }, {}],
    ['an object and a number', { v: {} }, 1],
    ['null and an object', { v: null }, {}],
    ['an object and null', { v: {} }, null],
    ['an array and an object', { v: [] }, {}],
    ['an object and an array', { v: {} }, []],
    ['arrays of different lengths', { v: [1] }, [1, 2]],
    ['arrays with a different element', { v: [1, 2] }, [1, 3]],
    ['objects with a different member', { v: { a: 1, b: 2 } }, { a: 1, b: 3 }],
    ['objects of different members', { v: { a: 1 } }, { a: 1, b: 2 }],
    ['objects of other members', { v: { a: 1 } }, { b: 1 }],
    ['a member named __proto__ and another', JSON.parse('{ "v": { "__proto__": {} } }') as object, { x: 1 }],
  ])('tests %s as different', (_name, doc, value) => {
    expect(failure(() => apply(doc, [{ op: 'test', path: '/v', value }]))?.code).toBe('PATCH_TEST_FAILED');
  });
});
