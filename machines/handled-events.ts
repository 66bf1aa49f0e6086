import type { EventObject } from 'xstate';
import type { PersistedActorState } from '../src/runtime/persisted-state.ts';
import { ERASED } from '../src/marketplace/personal-data.ts';
import { contentDigest, eventDigest, personalDigest, personalFieldsOf } from '../src/marketplace/event-digest.ts';
import type { LifecycleEvent } from './governor-protocol.ts';

/**
 * The orchestrator's record of the events it has handled: eventId → outcome (`completed`, or
 * `rejected` with its reason), when it was committed, and the event's content digest. One keyed
 * record per event (`putRecord`), kept by the store beside the orchestrator's state — a Redis
 * hash per customer written by `commit-n.lua`, a map in the memory store — and committed in the
 * same atomic step as the state change, the handled message id and the messages the event sent.
 * An event's effects and the record that it was handled are committed together or not at all.
 *
 * Why records beside the state, not a list in the context (the layout before): the list was
 * rewritten with every event, so an old customer's event cost more than a young one's, and it had
 * to be cut (a 7-day, 1,000-record retention) — after which a redelivery was decided again, and
 * `enqueue --wait` could not find its outcome. A record is read by key instead (the runtime hands
 * it to the machine with the event, as `$record`), so the state stays the same size whatever the
 * customer's age, and no record is ever dropped: a redelivery after any time is answered with its
 * original outcome. The records grow with history, like the receipts' journal (~100 bytes each).
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
 * One handled event's record, stored under its eventId, with what the event was, so the same
 * eventId with other content is a reused key, refused, never a duplicate:
 * - `content`: the event's digest without its personal fields (`contentDigest`), and `personal`:
 *   those fields under the customer's salt (`personalDigest`; absent when the event had none).
 *   Kept apart so a record says nothing about a person once the salt is destroyed by an erasure;
 * - `digest`: the whole event's digest (`eventDigest`), in records committed before the split.
 * Records committed before any digest was kept have none: an event under their eventId is taken
 * for a duplicate, as it was.
 */
export type HandledRecord = HandledOutcome & {
  readonly content?: string;
  readonly personal?: string;
  readonly digest?: string;
  /**
   * Its place in the order the orchestrator decided its events (0 for the first): a hash has no
   * order of its own, and tools that fold the outcomes again need it. Absent in records migrated
   * from a state whose list had been cut (see {@link migrateOrchestratorState}).
   */
  readonly seq?: number;
};

/** A record with its eventId (the layout of the `handled` list, and of tools that list records). */
export type HandledEvent = HandledRecord & { readonly eventId: string };

/**
 * The record key a message to the orchestrator needs: a lifecycle event's eventId
 * (`EntityKind.recordKey`). Anything else needs none.
 */
export function handledRecordKey(event: EventObject): string | undefined {
  if (event.type !== 'lifecycle') return undefined;
  const eventId = (event as { event?: { eventId?: unknown } }).event?.eventId;
  return typeof eventId === 'string' && eventId.length > 0 ? eventId : undefined;
}

/**
 * The record the runtime handed over with an event (`$record`), checked: `undefined` when there
 * is none. A record that is not one (a hand edit, another program's value under the key) is an
 * error, never "no record": taking it for none would decide the event a second time.
 */
export function handledRecordOf(event: EventObject & { readonly $record?: unknown }): HandledRecord | undefined {
  const record = event.$record;
  if (record === undefined || record === null) return undefined;
  const problem = recordProblem(record);
  if (problem) throw new TypeError(`the handled record of event ${JSON.stringify(handledRecordKey(event))} is not one (${problem}): restore it from a backup`);
  return record as HandledRecord;
}

function recordProblem(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'not an object';
  const r = record as Record<string, unknown>;
  if (r.status !== 'completed' && r.status !== 'rejected') return `status ${JSON.stringify(r.status)}`;
  if (typeof r.at !== 'number') return 'no commit time';
  if (r.status === 'rejected' && typeof r.reason !== 'string') return 'a rejection without a reason';
  for (const field of ['digest', 'content', 'personal'] as const) {
    if (r[field] !== undefined && typeof r[field] !== 'string') return `a ${field} digest that is not a string`;
  }
  return undefined;
}

/**
 * The customer's personal-data salt as the orchestrator holds it (`personalDigest`), and the place
 * (`seq`) of the first decision made under it: records older than that were made under a salt an
 * erasure destroyed, and their `personal` half can no longer be compared.
 */
export interface PersonalSalt {
  readonly salt: string;
  readonly since: number;
}

/**
 * Whether the record says the event's key was used for other content (refuse the event). The
 * digests are computed only when there is a record to compare with: a new event, the common case,
 * costs no hashing. Without the salt (`governor enqueue` before it sends; a record older than the
 * salt) only the content half is compared and the node compares the rest; an event whose personal
 * fields were erased is known by its content.
 */
export function reusesKey(record: HandledRecord | undefined, event: Pick<LifecycleEvent, 'eventId'>, salt?: PersonalSalt): boolean {
  if (record === undefined) return false;
  if (record.content === undefined) return record.digest !== undefined && record.digest !== eventDigest(event);
  if (record.content !== contentDigest(event)) return true;
  if (record.personal === undefined) return personalFieldsOf(event) !== undefined;
  if (salt === undefined || record.personal === ERASED || (record.seq ?? -1) < salt.since) return false;
  return record.personal !== personalDigest(event, salt.salt);
}

/** The outcome of a record, without its digest (what a duplicate is answered with). */
export function outcomeOf(record: HandledRecord): HandledOutcome {
  if (record.status === 'rejected') return { status: 'rejected', reason: record.reason, at: record.at };
  return { status: 'completed', at: record.at, ...(record.subscriptionId !== undefined ? { subscriptionId: record.subscriptionId } : {}) };
}

/** The record of an outcome, as stored (compact: no eventId, it is the key). */
export function handledRecord(outcome: HandledOutcome, event: Pick<LifecycleEvent, 'eventId'>, salt: PersonalSalt | undefined, seq: number): HandledRecord {
  // No salt (none was made, or it is being destroyed): the record says there were personal
  // fields, and nothing of them.
  const personal = personalFieldsOf(event) === undefined ? undefined : salt === undefined ? ERASED : personalDigest(event, salt.salt);
  return { ...outcome, content: contentDigest(event), ...(personal !== undefined ? { personal } : {}), seq };
}

/**
 * A stored orchestrator state of the layout before (its context holds `handled`, the list of
 * records, and `retention`) brought to this one: the list leaves the context and becomes the
 * records, committed with the migrated state. Every record of the list moves, none is lost.
 * `undefined` for a state of this layout.
 */
export function migrateOrchestratorState(state: PersistedActorState): { state: PersistedActorState; records: Record<string, HandledRecord> } | undefined {
  const snapshot = state.snapshot as { context?: Record<string, unknown> } & Record<string, unknown>;
  const context = snapshot.context;
  if (!context || !Array.isArray(context.handled)) return undefined;
  const records: Record<string, HandledRecord> = {};
  const list = context.handled as HandledEvent[];
  // The list kept the last events decided, in order: their places end at the count of decisions.
  const stats = context.stats as { processed?: number; rejected?: number } | undefined;
  const decided = (stats?.processed ?? 0) + (stats?.rejected ?? 0);
  const first = decided >= list.length ? decided - list.length : undefined;
  list.forEach((entry, i) => {
    const { eventId, ...record } = entry;
    if (typeof eventId === 'string') records[eventId] = first === undefined ? record : { ...record, seq: first + i };
  });
  const { handled: _handled, retention: _retention, ...rest } = context;
  // Postponed lifecycle events carried a `$record` of their time: looked up again when taken.
  return { state: { ...state, snapshot: { ...snapshot, context: rest } }, records };
}
