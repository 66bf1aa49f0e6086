/**
 * The orchestrator's record of the events it has handled: eventId → outcome (`completed`, or
 * `rejected` with its reason) and when it was committed. It is part of the orchestrator's
 * context, so it is persisted with the orchestrator's state by the runtime's normal commit — on
 * BullMQ in the same atomic script as the state change, the handled message id and the messages
 * the event sent (`commit-n.lua`). No second store, no second write that could be lost alone:
 * an event's effects and the record that it was handled are committed together or not at all.
 *
 * Why one bounded list in the context, rather than a Redis set or a key per event:
 * - it is correct on every transport, the memory one included, with no code in the transport;
 * - it is readable wherever the orchestrator's state is (the CLI's `--wait` reads it from Redis);
 * - it answers a redelivery with the original outcome, which a set of ids alone could not.
 * The cost is that the whole list is written with every event, hence the retention below.
 *
 * Retention (pure, applied when a record is added, measured on the runtime clock):
 * - every record younger than the duplicate window is kept, whatever the count: within the window
 *   a repeated eventId is always recognised;
 * - beyond the window, the newest `kept` records younger than `maxAgeMs` are kept;
 * - what is older is forgotten. A redelivery of a forgotten event is decided again by the
 *   governors, whose domains have keys of their own that make it a no-op: a payment id already
 *   applied, a usage idempotency key already counted, a cycle already invoiced, a subscription
 *   already active.
 */

/**
 * How an event ended, as recorded when it was committed (`at`: epoch ms, runtime clock).
 * `subscriptionId`: the subscription a completed `CustomerSubscribes` started or reactivated (the
 * id later RenewalDue events name), as the Subscription governor answered it.
 */
export type HandledOutcome =
  | { readonly status: 'completed'; readonly at: number; readonly subscriptionId?: string }
  | { readonly status: 'rejected'; readonly reason: string; readonly at: number };

/** The subscription id a Subscription reply carries (a subscribe it applied), if any. */
export function subscriptionIdOf(replies: readonly { readonly governor: string; readonly status: string; readonly facts?: Readonly<Record<string, unknown>> }[]): string | undefined {
  const id = replies.find((r) => r.governor === 'Subscription' && r.status === 'applied')?.facts?.subscriptionId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * One handled event. `digest` is the event's content digest (`eventDigest`): the same eventId
 * with another digest is a reused key, refused, never a duplicate. Records committed before the
 * digest was kept have none: an event under their eventId is taken for a duplicate, as it was.
 */
export type HandledEvent = HandledOutcome & { readonly eventId: string; readonly digest?: string };

/** @default 5 minutes: a repeated eventId within it is always recognised. */
export const DEFAULT_DEDUP_WINDOW_MS = 5 * 60_000;
/** @default 1000 records kept beyond the duplicate window. */
export const DEFAULT_OUTCOMES_KEPT = 1_000;
/** @default 7 days: no record is kept longer (unless the duplicate window is longer). */
export const DEFAULT_OUTCOME_MAX_AGE_MS = 7 * 86_400_000;

export interface OutcomeRetention {
  /** Records younger than this are always kept. @default {@link DEFAULT_DEDUP_WINDOW_MS} */
  readonly dedupWindowMs: number;
  /** Records kept beyond the window, newest first. @default {@link DEFAULT_OUTCOMES_KEPT} */
  readonly kept: number;
  /** Records older than this are dropped (the window wins when it is longer). @default {@link DEFAULT_OUTCOME_MAX_AGE_MS} */
  readonly maxAgeMs: number;
}

/** The retention with defaults filled in. */
export function outcomeRetention(options: Partial<OutcomeRetention> = {}): OutcomeRetention {
  return {
    dedupWindowMs: options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS,
    kept: options.kept ?? DEFAULT_OUTCOMES_KEPT,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_OUTCOME_MAX_AGE_MS,
  };
}

/** The record of `eventId`, if it is still kept. */
export function findHandled(handled: readonly HandledEvent[], eventId: string): HandledEvent | undefined {
  // Newest first: a redelivery is most often of a recent event. A linear scan of at most a few
  // thousand records costs microseconds, less than keeping a second index in the persisted state.
  for (let i = handled.length - 1; i >= 0; i--) if (handled[i]!.eventId === eventId) return handled[i];
  return undefined;
}

/**
 * The record of `eventId` when it was handled with other content than `digest` gives (the key
 * is reused: refuse the event), else `undefined` (a new event, or a duplicate of the record).
 * The digest is asked for only when there is a record to compare it with: a new event, the
 * common case, costs no hashing.
 */
export function reusedKeyRecord(handled: readonly HandledEvent[], eventId: string, digest: () => string): HandledEvent | undefined {
  const record = findHandled(handled, eventId);
  return record?.digest !== undefined && record.digest !== digest() ? record : undefined;
}

/** The outcome of a record, without its eventId (what a duplicate is answered with). */
export function outcomeOf(record: HandledEvent): HandledOutcome {
  if (record.status === 'rejected') return { status: 'rejected', reason: record.reason, at: record.at };
  return { status: 'completed', at: record.at, ...(record.subscriptionId !== undefined ? { subscriptionId: record.subscriptionId } : {}) };
}

/**
 * The records after `record` is added (oldest first), with the retention applied as of
 * `record.at`. Pure; shared with the reference model of the property tests.
 */
export function recordHandled(handled: readonly HandledEvent[], record: HandledEvent, retention: OutcomeRetention): HandledEvent[] {
  const all = [...handled, record];
  const now = record.at;
  const kept: HandledEvent[] = [];
  for (let i = all.length - 1, rank = 0; i >= 0; i--, rank++) {
    const age = now - all[i]!.at;
    if (age < retention.dedupWindowMs || (rank < retention.kept && age < retention.maxAgeMs)) kept.push(all[i]!);
  }
  return kept.reverse();
}
