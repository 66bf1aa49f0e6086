import { InvalidJobDataError } from '../../transport/bullmq/job-format.ts';
import type { Placement } from '../../transport/bullmq/options.ts';
import { GovernorProducer, type OutboundMessage } from '../../transport/bullmq/producer.ts';
import type { HandledOutcome } from '../../../machines/handled-events.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { messageIdOf } from '../../marketplace/lifecycle-message.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { connectOrExit, FAIL_FAST_REDIS, redactUrl } from './redis.ts';
import { isRedisUnavailable, redisUnavailableError } from '../redis-deadline.ts';
import { TenantThrottle, type Admitted, type Refused } from './throttle.ts';
import { OutcomeReader, type EventOutcome } from './wait.ts';

/** Where events go: the nodes' Redis, prefix and partition count. */
export interface EnqueueTarget {
  readonly url: string;
  readonly prefix?: string;
  readonly partitions?: number;
  /** The nodes' placement: which queue an orchestrator's messages go to. @default 'sharded' */
  readonly placement?: Placement;
  /** Events per `addBulk` round. */
  readonly batch: number;
  /** Wait this long for the nodes to handle the events (`--wait`). */
  readonly waitMs?: number;
}

/** The eventIds enqueued, in order, and with `waitMs` what became of each. */
export interface EnqueueResult {
  readonly ids: string[];
  /** Events refused by their tenant's rate limit: nothing was written for them. */
  readonly throttled: Refused[];
  /** Enqueued as delayed jobs, at a later slot of their tenant's rate. */
  readonly delayed: Admitted[];
  readonly outcomes?: Map<string, EventOutcome>;
}

/** Re-exported: the rule lives with the Orchestrator's `lifecycle` message, where the nodes check it. */
export { messageIdOf } from '../../marketplace/lifecycle-message.ts';

/** The transport's message of a lifecycle event: to its customer's orchestrator, under {@link messageIdOf}. */
export function lifecycleMessage(event: LifecycleEvent, receivedAt: number, delayMs = 0): OutboundMessage {
  return { to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt }, id: messageIdOf(event), delayMs };
}

/**
 * Enqueues validated events to their customers' orchestrators (`{ entity: 'Orchestrator', key:
 * customerId }`, message `{ type: 'lifecycle', event, receivedAt }`), in the transport's job format,
 * in batches, each tenant at its tier's rate ({@link TenantThrottle}); resolves with the eventIds
 * enqueued, in order, those throttled (and, with `waitMs`, the outcomes).
 */
export async function enqueueEvents(target: EnqueueTarget, events: readonly LifecycleEvent[]): Promise<EnqueueResult> {
  const producer = await connectOrExit(target.url, () =>
    GovernorProducer.connect({ url: target.url, prefix: target.prefix, partitions: target.partitions, placement: target.placement, redis: FAIL_FAST_REDIS }),
  );
  const ids: string[] = [];
  const throttled: Refused[] = [];
  const delayed: Admitted[] = [];
  const enqueued: LifecycleEvent[] = [];
  const throttle = new TenantThrottle(producer.connection, producer.keys);
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
      let admitted: Admitted[] = [];
      try {
        const admission = await throttle.admit(slice);
        throttled.push(...admission.refused);
        admitted = admission.admitted;
        const receivedAt = Date.now();
        await producer.sendMany([...admission.reports, ...admitted.map((a) => a.event)].map((event, i) => lifecycleMessage(event, receivedAt, admitted[i - admission.reports.length]?.delayMs)));
      } catch (error) {
        const done = ids.length > 0 ? ` (${ids.length} enqueued before: ${ids.join(' ')})` : '';
        // Validated events are far within the job limits; should one not be, it is bad input, not Redis.
        if (error instanceof InvalidJobDataError) throw new CliError(`${error.message}${done}`, EXIT.usage);
        if (isRedisUnavailable(error)) throw new CliError(`${redisUnavailableError(error as Error, target.url).message}${done}`, EXIT.unavailable);
        throw new CliError(`enqueue to ${redactUrl(target.url)} failed: ${error instanceof Error ? error.message : String(error)}${done}`, EXIT.unavailable);
      }
      for (const admission of admitted) {
        ids.push(admission.event.eventId);
        enqueued.push(admission.event);
        if (admission.delayMs > 0) delayed.push(admission);
      }
    }
    if (target.waitMs === undefined || reader === undefined) return { ids, throttled, delayed };
    try {
      return { ids, throttled, delayed, outcomes: await reader.wait(enqueued, before, messageIdOf, { timeoutMs: target.waitMs }) };
    } catch (error) {
      if (isRedisUnavailable(error)) throw new CliError(`enqueued ${ids.join(' ')}, but waiting for the outcome: ${redisUnavailableError(error as Error, target.url).message}`, EXIT.unavailable);
      throw new CliError(`enqueued ${ids.join(' ')}, but waiting for the outcome failed: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
    }
  } finally {
    await reader?.close();
    await producer.close();
  }
}
