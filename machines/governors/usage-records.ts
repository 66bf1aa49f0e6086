import { usageRecordKey, type PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import { isSafeId } from '../../src/marketplace/ids.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import type { RecordLookup } from './governor-kit.ts';

/**
 * Usage idempotency keys as keyed records (QuotaSla's and Billing's, each beside its own state):
 * `usage:<idempotencyKey>` → the `metric=quantity` fingerprint the key was first counted for.
 * They were kept in the governors' ledgers (this month's keys and the previous month's), which
 * grew with every report and were rewritten with every event; as records, a customer's data stays
 * the same size however many reports it sends, and a key is recognised however old it is (a
 * record is never removed, see `src/store/entity-records.ts`).
 */

/** The records a usage report's decision reads: its key's (none for another event, or a key that is not an id). */
export function usageKeysOf(event: LifecycleEvent): readonly string[] {
  if (event.type !== 'UsageRecorded' || typeof event.idempotencyKey !== 'string' || !isSafeId(event.idempotencyKey)) return [];
  return [usageRecordKey(event.idempotencyKey)];
}

/** The fingerprint the report's key was first counted for, `undefined` when it never was. */
export function usageSeen(records: RecordLookup, event: LifecycleEvent): string | undefined {
  const [key] = usageKeysOf(event);
  if (key === undefined) return undefined;
  const seen = records(key);
  if (seen === undefined || seen === null) return undefined;
  // Never "not seen" for a record that is not one: the report would be counted twice.
  if (typeof seen !== 'string') throw new TypeError(`the usage record ${JSON.stringify(key)} is not a fingerprint: restore it from a backup`);
  return seen;
}

/** A ledger of the layout before (`seen`, `previousSeen` in it): its keys as records, the ledger without them. */
export function migrateUsageKeys<D extends { readonly ledger: PeriodUsage }>(data: D): { data: D; records: Record<string, string> } | undefined {
  const ledger = data?.ledger as (PeriodUsage & { seen?: Record<string, string>; previousSeen?: Record<string, string> }) | undefined;
  if (!ledger || (ledger.seen === undefined && ledger.previousSeen === undefined)) return undefined;
  const records: Record<string, string> = {};
  // The previous month's first: a key in both (it cannot be, but) keeps this month's fingerprint.
  for (const keys of [ledger.previousSeen, ledger.seen]) {
    for (const [key, fingerprint] of Object.entries(keys ?? {})) records[usageRecordKey(key)] = fingerprint;
  }
  const { seen: _seen, previousSeen: _previous, ...usage } = ledger;
  return { data: { ...data, ledger: usage }, records };
}
