import { IdempotencyKeyReusedError, InvalidJobDataError } from '../../transport/bullmq/job-format.ts';
import type { Placement } from '../../transport/bullmq/options.ts';
import { GovernorProducer, type OutboundMessage } from '../../transport/bullmq/producer.ts';
import type { HandledOutcome } from '../../../machines/handled-events.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { eventDigest, keyReusedReason } from '../../marketplace/event-digest.ts';
import { messageIdOf, type LifecycleMessage } from '../../marketplace/lifecycle-message.ts';
import type { Message } from '../../runtime/envelope.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { connectOrExit, FAIL_FAST_REDIS, redactUrl } from './redis.ts';
import { isRedisUnavailable, redisUnavailableError } from '../redis-deadline.ts';
import { countDoorRefusals } from './door-refusals.ts';
import { TenantThrottle, type Admitted, type Refused } from './throttle.ts';
import { reusedKeysRecorded } from './reused-keys.ts';
import { OutcomeReader, type EventOutcome } from './wait.ts';
import { startEnqueueSpans } from './enqueue-spans.ts';
import type { TraceCarrier } from '../../transport/bullmq/trace-context.ts';

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
  /**
   * An event whose eventId was used before for other content (its orchestrator's record, or a
   * job still queued under it, says so): `abort` enqueues nothing and throws a `CliError` (exit 2);
   * `skip` enqueues the others and returns it in `reused`. @default 'abort'
   */
  readonly onReusedKey?: 'abort' | 'skip';
  /** The receipt pseudonym key: the customer shows as its pseudonym on the `governor.enqueue` spans (none: not at all). */
  readonly pseudonymKey?: string;
}

/** The eventIds enqueued, in order, and with `waitMs` what became of each. */
export interface EnqueueResult {
  readonly ids: string[];
  /** Events refused by their tenant's rate limit: nothing was written for them. */
  readonly throttled: Refused[];
  /** Enqueued as delayed jobs, at a later slot of their tenant's rate. */
  readonly delayed: Admitted[];
  /** Events refused because their eventId was used before for other content (`onReusedKey: 'skip'`): nothing was written for them. */
  readonly reused: { readonly event: LifecycleEvent; readonly reason: string }[];
  readonly outcomes?: Map<string, EventOutcome>;
}

/** Re-exported: the rule lives with the Orchestrator's `lifecycle` message, where the nodes check it. */
export { messageIdOf } from '../../marketplace/lifecycle-message.ts';

/**
 * The transport's message of a lifecycle event: to its customer's orchestrator, under {@link
 * messageIdOf}, its job named by the event's type (`CustomerSubscribes`), not by the wrapper's
 * (`lifecycle`, the same for every event), so a dashboard tells the events apart; with `trace`,
 * the W3C Trace Context its job carries (its `governor.enqueue` span).
 */
export function lifecycleMessage(event: LifecycleEvent, receivedAt: number, delayMs = 0, trace?: TraceCarrier): OutboundMessage {
  const message = { to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt }, id: messageIdOf(event), delayMs, name: event.type };
  return trace === undefined ? message : { ...message, trace };
}

/** What a lifecycle message says, for the producer's comparison with a job queued under its id: the event's digest. */
export function lifecycleContent(message: Message): string {
  return eventDigest((message as unknown as LifecycleMessage).event);
}

const keyReusedReasonOf = (event: LifecycleEvent): string => keyReusedReason(event.eventId, event.customerId);

/** The door's refusal of a reused eventId, as one line naming the error. */
function reusedKeyError(reason: string, done: string): CliError {
  return new CliError(`IdempotencyKeyReusedError (${reason.replace(/^IDEMPOTENCY_KEY_REUSED: /, 'IDEMPOTENCY_KEY_REUSED): ')}; nothing was enqueued for it${done}`, EXIT.usage);
}

/**
 * Enqueues validated events to their customers' orchestrators (`{ entity: 'Orchestrator', key:
 * customerId }`, message `{ type: 'lifecycle', event, receivedAt }`), in the transport's job format,
 * in batches, each tenant at its tier's rate ({@link TenantThrottle}); resolves with the eventIds
 * enqueued, in order, those throttled (and, with `waitMs`, the outcomes).
 */
export async function enqueueEvents(target: EnqueueTarget, all: readonly LifecycleEvent[]): Promise<EnqueueResult> {
  const producer = await connectOrExit(target.url, () =>
    GovernorProducer.connect({ url: target.url, prefix: target.prefix, partitions: target.partitions, placement: target.placement, redis: FAIL_FAST_REDIS }),
  );
  const ids: string[] = [];
  const throttled: Refused[] = [];
  const delayed: Admitted[] = [];
  const enqueued: LifecycleEvent[] = [];
  const reused: { event: LifecycleEvent; reason: string }[] = [];
  const throttle = new TenantThrottle(producer.connection, producer.keys);
  let reader: OutcomeReader | undefined;
  // Refused by the queue (a job with the eventId and other content) without being listed in `reused`.
  let refusedReused = 0;
  try {
    // At the door: an eventId its orchestrator handled with other content.
    let recorded: Map<LifecycleEvent, string>;
    try {
      recorded = await reusedKeysRecorded(producer, all);
    } catch (error) {
      throw new CliError(`reading the handled events from ${redactUrl(target.url)} failed: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
    }
    for (const [event, reason] of recorded) reused.push({ event, reason });
    if (recorded.size > 0 && target.onReusedKey !== 'skip') throw reusedKeyError([...recorded.values()][0]!, '');
    const events = all.filter((event) => !recorded.has(event));
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
        // One trace per event sent, rooted here (no-op spans without an OpenTelemetry SDK).
        const spans = startEnqueueSpans([...admission.reports, ...admitted.map((a) => a.event)], (event) => producer.queueOf({ entity: 'Orchestrator', key: event.customerId }), target.pseudonymKey);
        try {
          for (;;) {
            try {
              await producer.sendMany(
                [...admission.reports, ...admitted.map((a) => a.event)].map((event, i) => lifecycleMessage(event, receivedAt, admitted[i - admission.reports.length]?.delayMs, spans.carrierOf(event))),
                { contentOf: lifecycleContent },
              );
              break;
            } catch (error) {
              // A job with the eventId and other content is queued: nothing of the batch was
              // written; without those events, the rest goes (`skip`).
              if (error instanceof IdempotencyKeyReusedError && !error.othersWritten) refusedReused += error.reused.length;
              if (!(error instanceof IdempotencyKeyReusedError) || error.othersWritten || target.onReusedKey !== 'skip') throw error;
              const ids = new Set(error.reused.map((r) => r.id));
              const refused = admitted.filter((a) => ids.has(messageIdOf(a.event)));
              if (refused.length === 0) throw error;
              refusedReused -= refused.length;
              for (const a of refused) reused.push({ event: a.event, reason: `${keyReusedReasonOf(a.event)} (a job with it is in the queue)` });
              admitted = admitted.filter((a) => !refused.includes(a));
            }
          }
          spans.end();
        } catch (error) {
          spans.end(error);
          throw error;
        }
      } catch (error) {
        const done = ids.length > 0 ? ` (${ids.length} enqueued before: ${ids.join(' ')})` : '';
        if (error instanceof IdempotencyKeyReusedError) {
          throw new CliError(`IdempotencyKeyReusedError (${error.code}): ${error.message}${done}`, EXIT.usage);
        }
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
    if (target.waitMs === undefined || reader === undefined) return { ids, throttled, delayed, reused };
    try {
      return { ids, throttled, delayed, reused, outcomes: await reader.wait(enqueued, before, messageIdOf, { timeoutMs: target.waitMs }) };
    } catch (error) {
      if (isRedisUnavailable(error)) throw new CliError(`enqueued ${ids.join(' ')}, but waiting for the outcome: ${redisUnavailableError(error as Error, target.url).message}`, EXIT.unavailable);
      throw new CliError(`enqueued ${ids.join(' ')}, but waiting for the outcome failed: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
    }
  } finally {
    await countDoorRefusals(producer.connection, producer.keys, { throttled: throttled.length, reused_key: reused.length + refusedReused });
    await reader?.close();
    await producer.close();
  }
}
