import type { EventObject } from 'xstate';

/** Bumped whenever the shape below changes; stored states of other versions are migrated or refused. */
export const PERSISTED_STATE_VERSION = 1;

export type TimerKind = 'state' | 'event' | 'generic' | 'delay';

/** A runtime timer as data: what fires, and when (an absolute time on the node's clock). */
export interface PersistedTimer {
  readonly name: string;
  readonly kind: TimerKind;
  readonly deadline: number;
  readonly event: EventObject;
}

/**
 * An actor at rest: XState's persisted snapshot plus what XState does not keep — the runtime's
 * timer deadlines (so a timeout that fell due while the actor was away fires when it comes back)
 * and the events it had postponed — under a schema version of its own, as XState has none.
 */
export interface PersistedActorState {
  readonly version: typeof PERSISTED_STATE_VERSION;
  readonly machine: string;
  readonly snapshot: unknown;
  readonly timers: readonly PersistedTimer[];
  readonly postponed: readonly EventObject[];
  /**
   * Entries of the entity's journal once this state is committed (absent: none). A store checks
   * it against the journal it holds, so a state and its history can never drift apart silently.
   */
  readonly journalLength?: number;
  /**
   * Only in a state handed to a commit: the journal entries to append with it (`appendJournal`),
   * in order. Stores write them to the journal and never into the stored state.
   */
  readonly journal?: readonly unknown[];
  /**
   * Only in a state handed to a commit: the entity's keyed records written since the last commit
   * (`putRecord`), key → JSON value. Stores write them beside the state (a hash per entity), in
   * the same atomic commit, and never into the stored state: history the snapshot must not carry
   * (e.g. the outcome of every event ever handled, looked up by its id).
   */
  readonly records?: Readonly<Record<string, unknown>>;
}

const TIMER_KINDS: readonly string[] = ['state', 'event', 'generic', 'delay'];

/**
 * Checks a stored state before an actor is brought back from it: it comes from outside (a store,
 * another node), so a state of another version or machine, or a corrupt timer (a `null` deadline
 * would fire at once), is refused with a `TypeError` naming every problem instead of being run.
 */
export function checkPersistedState(state: unknown, machineId: string): asserts state is PersistedActorState {
  if (typeof state !== 'object' || state === null) throw new TypeError('cannot restore an actor: its persisted state must be an object');
  const s = state as Partial<Record<keyof PersistedActorState, unknown>>;
  const problems: string[] = [];
  if (s.version !== PERSISTED_STATE_VERSION) problems.push(`version is ${String(s.version)}, expected ${PERSISTED_STATE_VERSION} (migrate it first)`);
  if (s.machine !== machineId) problems.push(`it is a state of machine "${String(s.machine)}", not "${machineId}"`);
  if (typeof s.snapshot !== 'object' || s.snapshot === null) problems.push('snapshot must be an XState persisted snapshot');
  if (!Array.isArray(s.timers)) problems.push('timers must be a list');
  else {
    s.timers.forEach((raw: unknown, i) => {
      const t = (raw ?? {}) as Partial<Record<keyof PersistedTimer, unknown>>;
      if (typeof t.name !== 'string') problems.push(`timers[${i}].name must be a string`);
      // Stryker disable next-line ConditionalExpression: equivalent, includes is false for anything that is not one of these strings; the typeof is for the type checker
      if (typeof t.kind !== 'string' || !TIMER_KINDS.includes(t.kind)) problems.push(`timers[${i}].kind must be one of ${TIMER_KINDS.join(', ')}`);
      if (!Number.isFinite(t.deadline)) problems.push(`timers[${i}].deadline must be a finite time`);
      if (!isEvent(t.event)) problems.push(`timers[${i}].event must be an event with a string type`);
    });
  }
  if (s.journalLength !== undefined && !(Number.isSafeInteger(s.journalLength) && (s.journalLength as number) >= 0)) {
    problems.push('journalLength must be a whole number ≥ 0');
  }
  if (!Array.isArray(s.postponed)) problems.push('postponed must be a list');
  else s.postponed.forEach((e: unknown, i) => isEvent(e) || problems.push(`postponed[${i}] must be an event with a string type`));
  if (problems.length > 0) throw new TypeError(`cannot restore an actor from this state: ${problems.join('; ')}`);
}

function isEvent(value: unknown): value is EventObject {
  return typeof value === 'object' && value !== null && typeof (value as EventObject).type === 'string';
}
