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
}
