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
