import { findHandled, outcomeOf, type HandledEvent, type HandledOutcome } from '../../../machines/handled-events.ts';

/**
 * The outcome the orchestrator recorded for `eventId`, read from its committed state as stored
 * in Redis (the `d` field of its state hash: a persisted actor state whose snapshot's context
 * holds `handled`, see machines/handled-events.ts). Committed in the same script as the event's
 * effects, so a record here means the event's effects are in Redis too. `undefined` when there
 * is no state, no record (yet), or the stored text is not an orchestrator's state.
 */
export function recordedOutcome(stored: string | null | undefined, eventId: string): HandledOutcome | undefined {
  const record = recordedEvent(stored, eventId);
  return record ? outcomeOf(record) : undefined;
}

/** The whole record of `eventId` (its digest too), read as {@link recordedOutcome} reads it. */
export function recordedEvent(stored: string | null | undefined, eventId: string): HandledEvent | undefined {
  if (stored === null || stored === undefined) return undefined;
  let handled: unknown;
  try {
    handled = (JSON.parse(stored) as { snapshot?: { context?: { handled?: unknown } } }).snapshot?.context?.handled;
  } catch {
    return undefined;
  }
  if (!Array.isArray(handled)) return undefined;
  return findHandled(handled as Parameters<typeof findHandled>[0], eventId);
}
