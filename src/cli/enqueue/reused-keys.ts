import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { eventDigest, keyReusedReason } from '../../marketplace/event-digest.ts';
import type { EventValidationIssue } from '../../marketplace/event-validation.ts';
import type { GovernorProducer } from '../../transport/bullmq/producer.ts';
import type { CheckedEvent } from './events.ts';
import { readHandledRecords } from './outcome-record.ts';
import { reusesKey } from '../../../machines/handled-events.ts';

/**
 * `governor enqueue`'s checks of idempotency keys (eventIds) reused for other content, at the
 * door, where the producer hears the refusal: the nodes are the authority (they refuse such an
 * event with the same rule and dead-letter it), this only saves the round trip. Content is
 * compared by `eventDigest` (every field but `occurredAt`); against a record, by its content half
 * (`reusesKey`: the personal half needs the salt only the orchestrator holds, and the node compares it).
 */

/** The `IDEMPOTENCY_KEY_REUSED` issue of an event. */
export function reusedKeyIssue(event: LifecycleEvent, detail?: string): EventValidationIssue {
  return { path: '$.eventId', rule: 'idempotency_key_reused', message: `$.eventId: ${keyReusedReason(event.eventId, event.customerId)}${detail ? ` (${detail})` : ''}`, value: JSON.stringify(event.eventId) };
}

/** A line that repeats an earlier line's event (same customer, eventId and content): not enqueued again. */
export interface RepeatedLine {
  readonly repeat: true;
  readonly line: number;
  readonly event: LifecycleEvent;
  /** The earlier line it repeats. */
  readonly of: number;
}

/**
 * A check of the events of one input (a file), in order: an event whose customer and eventId an
 * earlier line has with other content is refused like a bad line; the same content again is a
 * {@link RepeatedLine}, reported as a duplicate of that line rather than enqueued (and reported)
 * twice. Keeps one digest per eventId accepted.
 */
export function reuseWithinInput(): (checked: CheckedEvent) => CheckedEvent | RepeatedLine {
  const first = new Map<string, { line: number; digest: string }>();
  return (c) => {
    if (!c.ok) return c;
    const key = `${c.event.customerId}\u0000${c.event.eventId}`;
    const digest = eventDigest(c.event);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, { line: c.line, digest });
      return c;
    }
    return earlier.digest === digest
      ? { repeat: true, line: c.line, event: c.event, of: earlier.line }
      : { ok: false, line: c.line, issues: [reusedKeyIssue(c.event, `line ${earlier.line} has it`)] };
  };
}

/**
 * The events whose eventId their orchestrator has a handled record of with another digest, read
 * from its records in Redis (one round trip), with the reason.
 */
export async function reusedKeysRecorded(producer: GovernorProducer, events: readonly LifecycleEvent[]): Promise<Map<LifecycleEvent, string>> {
  const records = await readHandledRecords(producer.connection, producer.keys, events);
  const reused = new Map<LifecycleEvent, string>();
  events.forEach((event, i) => {
    const record = records[i];
    if (reusesKey(record, event)) reused.set(event, keyReusedReason(event.eventId, event.customerId));
  });
  return reused;
}
