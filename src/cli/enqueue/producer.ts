import { InvalidJobDataError } from '../../transport/bullmq/job-format.ts';
import { GovernorProducer } from '../../transport/bullmq/producer.ts';
import type { HandledOutcome } from '../../../machines/handled-events.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { connectOrExit, FAIL_FAST_REDIS, redactUrl } from './redis.ts';
import { OutcomeReader, type EventOutcome } from './wait.ts';

/** Where events go: the nodes' Redis, prefix and partition count. */
export interface EnqueueTarget {
  readonly url: string;
  readonly prefix?: string;
  readonly partitions?: number;
  /** Events per `addBulk` round. */
  readonly batch: number;
  /** Wait this long for the nodes to handle the events (`--wait`). */
  readonly waitMs?: number;
}

/** The eventIds enqueued, in order, and with `waitMs` what became of each. */
export interface EnqueueResult {
  readonly ids: string[];
  readonly outcomes?: Map<string, EventOutcome>;
}

/**
 * The job message id of an event: its eventId, which makes a repeated enqueue of one event a no-op
 * (BullMQ job ids must not contain ":", which an eventId may; "%" cannot occur in one).
 */
export function messageIdOf(eventId: string): string {
  return `ev.${eventId.replaceAll(':', '%3A')}`;
}

/**
 * Enqueues validated events to their customers' orchestrators (`{ entity: 'Orchestrator', key:
 * customerId }`, message `{ type: 'lifecycle', event, receivedAt }`), in the transport's job format,
 * in batches; resolves with the eventIds, in order (and, with `waitMs`, their outcomes).
 */
export async function enqueueEvents(target: EnqueueTarget, events: readonly LifecycleEvent[]): Promise<EnqueueResult> {
  const producer = await connectOrExit(target.url, () =>
    GovernorProducer.connect({ url: target.url, prefix: target.prefix, partitions: target.partitions, redis: FAIL_FAST_REDIS }),
  );
  const ids: string[] = [];
  let reader: OutcomeReader | undefined;
  try {
    // Before enqueueing: an event whose record is already there is a duplicate of that record.
    let before = new Map<string, HandledOutcome>();
    if (target.waitMs !== undefined) {
      reader = await connectOrExit(target.url, () => OutcomeReader.open(producer));
      before = await reader.recorded(events);
    }
    for (let start = 0; start < events.length; start += target.batch) {
      const slice = events.slice(start, start + target.batch);
      const receivedAt = Date.now();
      try {
        await producer.sendMany(
          slice.map((event) => ({ to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt }, id: messageIdOf(event.eventId) })),
        );
      } catch (error) {
        const done = ids.length > 0 ? ` (${ids.length} enqueued before: ${ids.join(' ')})` : '';
        // Validated events are far within the job limits; should one not be, it is bad input, not Redis.
        if (error instanceof InvalidJobDataError) throw new CliError(`${error.message}${done}`, EXIT.usage);
        throw new CliError(`enqueue to ${redactUrl(target.url)} failed: ${error instanceof Error ? error.message : String(error)}${done}`, EXIT.unavailable);
      }
      ids.push(...slice.map((event) => event.eventId));
    }
    if (target.waitMs === undefined || reader === undefined) return { ids };
    try {
      return { ids, outcomes: await reader.wait(events, before, messageIdOf, { timeoutMs: target.waitMs }) };
    } catch (error) {
      throw new CliError(`enqueued ${ids.join(' ')}, but waiting for the outcome failed: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
    }
  } finally {
    await reader?.close();
    await producer.close();
  }
}
