import { GovernorError } from '../errors.ts';

/**
 * JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), pure and all-or-nothing: the patch is
 * checked as a whole, applied to a copy, and either every operation succeeds and the copy is
 * returned, or a {@link JsonPatchError} names the first operation that failed and the input is
 * untouched. Written out here (about as long as a dependency's wrapper would be) so that what an
 * admin's `replace_state` can do to a state is exactly what this file says.
 *
 * Stricter than the RFC in one way: a path segment `__proto__`, `constructor` or `prototype` is
 * refused, so no patch can reach an object's prototype, whatever the code that later reads it.
 */

/** One operation, as RFC 6902 §4 defines it. */
export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

export type JsonPatchErrorCode = 'PATCH_INVALID' | 'PATCH_PATH_NOT_FOUND' | 'PATCH_TEST_FAILED' | 'PATCH_FORBIDDEN_PATH';

/** A patch that is malformed or cannot be applied; nothing was changed. `index` is the operation's. */
export class JsonPatchError extends GovernorError {
  declare readonly code: JsonPatchErrorCode;
  constructor(
    code: JsonPatchErrorCode,
    message: string,
    readonly index?: number,
  ) {
    super(code, index === undefined ? message : `patch operation ${index}: ${message}`);
  }
}

/** Path segments refused everywhere: they name an object's prototype, never data. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * Checks that `patch` is a well-formed RFC 6902 patch (an array of operations with the members
 * each needs, pointers well formed, no forbidden segment) and returns it typed. Members an
 * operation does not define are ignored, as the RFC says.
 */
export function parseJsonPatch(patch: unknown): JsonPatchOperation[] {
  if (!Array.isArray(patch)) throw new JsonPatchError('PATCH_INVALID', 'a JSON Patch is an array of operations, e.g. [{ op: "replace", path: "/n", value: 1 }]');
  return patch.map((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new JsonPatchError('PATCH_INVALID', 'an operation is an object { op, path, … }', index);
    const o = raw as Record<string, unknown>;
    // Stryker disable next-line ConditionalExpression: equivalent, OPS has only strings; the typeof is for the type checker
    if (typeof o.op !== 'string' || !OPS.has(o.op)) throw new JsonPatchError('PATCH_INVALID', `op must be one of ${[...OPS].join(', ')}, got ${JSON.stringify(o.op)}`, index);
    const path = pointer(o.path, 'path', index);
    switch (o.op) {
      case 'remove':
        return { op: 'remove', path };
      case 'move':
      case 'copy': {
        const from = pointer(o.from, 'from', index);
        if (o.op === 'move' && path.startsWith(`${from}/`)) throw new JsonPatchError('PATCH_INVALID', `cannot move ${from} into its own child ${path}`, index);
        return { op: o.op, from, path };
      }
      default:
        if (!Object.hasOwn(o, 'value') || o.value === undefined) throw new JsonPatchError('PATCH_INVALID', `${o.op} needs a value`, index);
        return { op: o.op as 'add' | 'replace' | 'test', path, value: o.value };
    }
  });
}

/** Applies a patch checked by {@link parseJsonPatch} to a copy of `document` (JSON data) and returns the copy. */
export function applyJsonPatch(document: unknown, patch: readonly JsonPatchOperation[]): unknown {
  // One wrapper holds the whole document, so a path "" (the document itself) is a member like any other.
  const root: { doc: unknown } = { doc: clone(document) };
  patch.forEach((operation, index) => {
    switch (operation.op) {
      case 'add':
        add(root, operation.path, clone(operation.value), index);
        break;
      case 'remove':
        remove(root, operation.path, index);
        break;
      case 'replace':
        remove(root, operation.path, index);
        add(root, operation.path, clone(operation.value), index);
        break;
      case 'move': {
        // Moving a value onto itself changes nothing, but its source must still exist.
        if (operation.from === operation.path) {
          get(root, operation.from, index);
          break;
        }
        const value = remove(root, operation.from, index);
        add(root, operation.path, value, index);
        break;
      }
      case 'copy':
        add(root, operation.path, clone(get(root, operation.from, index)), index);
        break;
      case 'test':
        if (!equal(get(root, operation.path, index), operation.value)) {
          throw new JsonPatchError('PATCH_TEST_FAILED', `test failed: ${operation.path || '(the document)'} is not ${JSON.stringify(operation.value)}`, index);
        }
        break;
    }
  });
  return root.doc;
}

/** The segments of an RFC 6901 pointer ("" is the document itself). */
export function pointerSegments(path: string): string[] {
  return path === '' ? [] : path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointer(value: unknown, member: 'path' | 'from', index: number): string {
  if (typeof value !== 'string') throw new JsonPatchError('PATCH_INVALID', `${member} must be a JSON Pointer string such as "/data/balance"`, index);
  if (value !== '' && !value.startsWith('/')) throw new JsonPatchError('PATCH_INVALID', `${member} "${value}" must start with "/" (or be "" for the whole document)`, index);
  if (/~[^01]|~$/.test(value)) throw new JsonPatchError('PATCH_INVALID', `${member} "${value}": "~" must be followed by 0 or 1`, index);
  const forbidden = pointerSegments(value).find((s) => FORBIDDEN_SEGMENTS.has(s));
  if (forbidden !== undefined) throw new JsonPatchError('PATCH_FORBIDDEN_PATH', `${member} "${value}" names "${forbidden}", which is never data`, index);
  return value;
}

type Container = Record<string, unknown> | unknown[];

/** The container holding the last segment of `path`, and that segment; the parent must exist. */
function parentOf(root: { doc: unknown }, path: string, index: number): { parent: Container; key: string } {
  const segments = ['doc', ...pointerSegments(path)];
  let parent: unknown = root;
  for (const segment of segments.slice(0, -1)) {
    parent = child(parent, segment, path, index);
  }
  if (typeof parent !== 'object' || parent === null) throw notFound(path, index);
  return { parent: parent as Container, key: segments.at(-1)! };
}

function child(container: unknown, segment: string, path: string, index: number): unknown {
  if (Array.isArray(container)) {
    const i = arrayIndex(segment, container.length - 1, path, index);
    return container[i];
  }
  // Stryker disable next-line ConditionalExpression: equivalent, a member of a string found here is never a container, and parentOf refuses it as a parent
  if (typeof container === 'object' && container !== null && Object.hasOwn(container, segment)) return (container as Record<string, unknown>)[segment];
  throw notFound(path, index);
}

/** A decimal index without leading zeros, at most `max`. */
function arrayIndex(segment: string, max: number, path: string, index: number): number {
  if (!/^(0|[1-9]\d*)$/.test(segment)) throw new JsonPatchError('PATCH_INVALID', `"${segment}" in ${path} is not an array index`, index);
  const i = Number(segment);
  if (i > max) throw notFound(path, index);
  return i;
}

function get(root: { doc: unknown }, path: string, index: number): unknown {
  const { parent, key } = parentOf(root, path, index);
  return child(parent, key, path, index);
}

function add(root: { doc: unknown }, path: string, value: unknown, index: number): void {
  const { parent, key } = parentOf(root, path, index);
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length, path, index), 0, value);
  } else {
    // defineProperty, not assignment: no setter can run, whatever the key.
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function remove(root: { doc: unknown }, path: string, index: number): unknown {
  const { parent, key } = parentOf(root, path, index);
  const value = child(parent, key, path, index);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}

function notFound(path: string, index: number): JsonPatchError {
  return new JsonPatchError('PATCH_PATH_NOT_FOUND', `${path || '(the document)'} does not exist`, index);
}

/** A copy of JSON data; the patch never shares an object with its input or its values. */
function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** RFC 6902 §4.6 equality: same type, arrays element-wise in order, objects member-wise in any order. */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent for JSON data, whose arrays have only their indices as members: compared as objects they compare the same
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && a.every((v, i) => equal(v, list[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
