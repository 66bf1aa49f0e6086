import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../transport/bullmq/connections.ts';
import type { HandledOutcome } from '../../../machines/handled-events.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import type { GovernorProducer } from '../../transport/bullmq/producer.ts';
import { ready } from '../../transport/bullmq/connections.ts';
import { readOutcomes } from './outcome-record.ts';
import { FAIL_FAST_REDIS } from './redis.ts';
import { sleep } from '../../runtime/retry.ts';

/**
 * What became of an enqueued event by the end of `--wait`: handled by its orchestrator
 * (`completed`, or `rejected` with the reason, at the commit time on the node's clock), handled
 * before this enqueue (`duplicate`, with that original outcome: nothing changed), moved to the
 * dead letters by a node (`dead-lettered`, with the reason), or none of these in time (`pending`).
 */
export type EventOutcome =
  | HandledOutcome
  | { readonly status: 'duplicate'; readonly original: HandledOutcome }
  | { readonly status: 'dead-lettered'; readonly reason: string }
  | { readonly status: 'pending' };

/** One line of `--wait`'s output: `completed`, `rejected: <reason>`, `duplicate (completed)`, … */
export function describeOutcome(outcome: EventOutcome): string {
  switch (outcome.status) {
    case 'rejected':
    case 'dead-lettered':
      return `${outcome.status}: ${outcome.reason}`;
    case 'duplicate':
      return `duplicate (${describeOutcome(outcome.original)})`;
    default:
      return outcome.status;
  }
}

/** The answer is "no" (exit 1): rejected, dead-lettered, or a duplicate of a rejected event. */
export function isRefusal(outcome: EventOutcome): boolean {
  const final = outcome.status === 'duplicate' ? outcome.original : outcome;
  return final.status === 'rejected' || final.status === 'dead-lettered';
}

/**
 * Reads outcomes from Redis, where the nodes commit them: each event's handled record (a field of
 * its orchestrator's records hash, kept forever: `outcome-record.ts`) and the dead-letter queue.
 * Open it before enqueueing: events that already have a record then are duplicates of it — also
 * an event handled long ago (there is no retention that could make it `pending`).
 */
export class OutcomeReader {
  readonly #producer: GovernorProducer;
  readonly #redis: Redis;
  readonly #dlq: Queue;

  private constructor(producer: GovernorProducer, redis: Redis) {
    this.#producer = producer;
    this.#redis = redis;
    this.#dlq = new Queue(producer.keys.deadLetterQueue, { connection: redis, prefix: producer.settings.prefix });
    this.#dlq.on('error', () => undefined);
  }

  static async open(producer: GovernorProducer): Promise<OutcomeReader> {
    const redis = createRedis(producer.settings.url, { ...producer.settings.redis, ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
    try {
      await ready(redis);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    return new OutcomeReader(producer, redis);
  }

  /** The recorded outcomes of those events that have one: one round trip for them all. */
  async recorded(events: readonly LifecycleEvent[]): Promise<Map<string, HandledOutcome>> {
    return readOutcomes(this.#redis, this.#producer.keys, events);
  }

  /**
   * Polls until every event has an outcome, or `timeoutMs` has passed. `before` holds the records
   * read before the events were enqueued: those events are duplicates at once.
   */
  async wait(
    events: readonly LifecycleEvent[],
    before: ReadonlyMap<string, HandledOutcome>,
    messageIdOf: (event: LifecycleEvent) => string,
    options: { timeoutMs: number; pollMs?: number },
  ): Promise<Map<string, EventOutcome>> {
    const outcomes = new Map<string, EventOutcome>();
    for (const event of events) {
      const original = before.get(event.eventId);
      outcomes.set(event.eventId, original ? { status: 'duplicate', original } : { status: 'pending' });
    }
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const pending = events.filter((e) => outcomes.get(e.eventId)!.status === 'pending');
      if (pending.length === 0) break;
      const recorded = await this.recorded(pending);
      await Promise.all(
        pending.map(async (event) => {
          const outcome = recorded.get(event.eventId);
          if (outcome) return void outcomes.set(event.eventId, outcome);
          const to = { entity: 'Orchestrator', key: event.customerId };
          const letter = await this.#dlq.getJob(`${this.#producer.queueOf(to)}~${this.#producer.jobIdOf(to, messageIdOf(event))}`);
          if (letter) outcomes.set(event.eventId, { status: 'dead-lettered', reason: String((letter.data as { reason?: unknown }).reason) });
        }),
      );
      if (Date.now() >= deadline) break;
      await sleep(options.pollMs ?? 200);
    }
    return outcomes;
  }

  async close(): Promise<void> {
    await this.#dlq.close().catch(() => undefined);
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
