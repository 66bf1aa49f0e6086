/**
 * A value as plain JSON for an admin reply: what LocalAdmin returns may hold Maps (children),
 * Sets, Errors (exit reasons) or bigints, which JSON.stringify would turn into `{}` or throw on.
 * Cycles become "[circular]" rather than a crash of the listener.
 */
export function toJsonSafe(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return { error: value.name, message: value.message };
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonSafe(v, seen)]));
    if (value instanceof Set || Array.isArray(value)) return [...value].map((v) => toJsonSafe(v, seen));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v, seen)]));
  } finally {
    seen.delete(value);
  }
}
