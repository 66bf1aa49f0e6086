import { FORBIDDEN_SEGMENTS } from './json-patch.ts';

/** How deep JSON data may nest (the transport's job limit). @default 64 */
export const MAX_JSON_DEPTH = 64;

/** Why a value is not JSON data, with where: `$.data.when: a Date, not JSON data`. */
export class NotJsonDataError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'NotJsonDataError';
  }
}

export interface JsonDataOptions {
  /** Refuse members named `__proto__`, `constructor` or `prototype` (for data from outside). @default false */
  readonly refuseForbiddenKeys?: boolean;
  /** @default {@link MAX_JSON_DEPTH} */
  readonly maxDepth?: number;
}

/**
 * A fresh copy of `value` as JSON data of this realm: null, booleans, finite numbers, strings,
 * arrays and plain objects (of any realm: the REPL builds its objects in a vm context), nothing
 * else. Members that are `undefined` are left out, as JSON leaves them out. Only own data
 * properties are read, never through a getter or `toJSON`, so copying runs no code of the value's.
 * Throws {@link NotJsonDataError} naming the first offending place.
 */
export function jsonData(value: unknown, options: JsonDataOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const seen = new Set<object>();
  const copy = (v: unknown, where: string, depth: number): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new NotJsonDataError(where, `${v} is not a JSON number`);
      return v;
    }
    if (typeof v !== 'object') throw new NotJsonDataError(where, `a ${typeof v} is not JSON data`);
    if (depth >= maxDepth) throw new NotJsonDataError(where, `nested deeper than ${maxDepth} levels`);
    if (seen.has(v)) throw new NotJsonDataError(where, 'it contains itself');
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        return Array.from({ length: v.length }, (_, i) => {
          const d = Object.getOwnPropertyDescriptor(v, i);
          if (!d || !('value' in d)) throw new NotJsonDataError(`${where}[${i}]`, 'a hole or an accessor, not JSON data');
          return d.value === undefined ? null : copy(d.value, `${where}[${i}]`, depth + 1);
        });
      }
      // Any realm's plain object: its prototype is an Object.prototype (whose own prototype is null) or null.
      const proto = Object.getPrototypeOf(v) as object | null;
      if (Object.prototype.toString.call(v) !== '[object Object]' || (proto !== null && Object.getPrototypeOf(proto) !== null)) {
        throw new NotJsonDataError(where, `a ${(v as object).constructor?.name ?? 'special object'}, not a plain object`);
      }
      if (Object.getOwnPropertySymbols(v).length > 0) throw new NotJsonDataError(where, 'symbol keys are not JSON data');
      const out: Record<string, unknown> = {};
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
        const at = `${where}.${key}`;
        if (!d.enumerable) continue;
        if (options.refuseForbiddenKeys === true && FORBIDDEN_SEGMENTS.has(key)) throw new NotJsonDataError(at, `a member named "${key}" is refused`);
        if (!('value' in d)) throw new NotJsonDataError(at, 'a getter, not JSON data');
        if (d.value === undefined) continue;
        // defineProperty, not assignment: a member named __proto__ stays a member.
        Object.defineProperty(out, key, { value: copy(d.value, at, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return copy(value, '$', 0);
}
