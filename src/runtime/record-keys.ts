import type { EventObject } from 'xstate';

/**
 * What a kind's `recordKey` names for an event: no record, one, or several (e.g. the event id and
 * the idempotency key the event carries). With one key, `$record` is its value; with a list, it
 * is an object of each key's value (`null`: none), so a machine can look up every record it
 * decides on, synchronously.
 */
export type RecordKeys = string | readonly string[] | undefined;

/** The keys named, as a list (empty: none). */
export function recordKeyList(named: RecordKeys): readonly string[] {
  return named === undefined ? [] : typeof named === 'string' ? [named] : named;
}

/** `$record` for the keys named, from `valueOf(key)` (`null` where there is none). */
export function recordValue(named: RecordKeys, valueOf: (key: string) => unknown): unknown {
  if (typeof named === 'string') return valueOf(named) ?? null;
  const values: Record<string, unknown> = {};
  for (const key of named ?? []) values[key] = valueOf(key) ?? null;
  return values;
}

/** The record keys a function of events names: the type of `EntityKind.recordKey`. */
export type RecordKeyOf = (event: EventObject) => RecordKeys;
