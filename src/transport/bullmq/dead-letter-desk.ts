import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { EntityAddress } from '../../runtime/entity.ts';
import { REDIS_RETRY, retry } from '../../runtime/retry.ts';
import type { TransportEndpoint } from '../../runtime/transport.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';
import { addDeadLetter, listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayResult } from './dead-letters.ts';
import type { Relay } from './relay.ts';

/** What the desk needs from its transport. @internal */
export interface DeadLetterDeskContext {
  readonly keys: RedisKeys;
  node(): TransportEndpoint;
  relay(): Relay;
  logger(): Logger;
  /** Aborted once the transport has stopped: a dead-lettering retry ends then. */
  readonly signal: AbortSignal;
}

/**
 * Where the jobs a node will not run go, with their reason, and what it counts of the messages it
 * refused or skipped. Every refusal is logged and counted here, never dropped in silence.
 *
 * @internal one concept of the BullMQ transport, behind its façade.
 */
export class DeadLetterDesk {
  readonly #ctx: DeadLetterDeskContext;
  /** Messages refused by their kind and dead-lettered, by kind. */
  readonly #refused = new Map<string, number>();
  /** Jobs skipped because their message id was handled before, by kind. */
  readonly #duplicates = new Map<string, number>();

  constructor(ctx: DeadLetterDeskContext) {
    this.#ctx = ctx;
  }

  /** Moves a job to the `dlq` queue with its reason; retried (adds are idempotent) until the transport stops. */
  async deadLetter(job: Job, reason: string): Promise<void> {
    const node = this.#ctx.node();
    const logger = this.#ctx.logger();
    logger.warn({ queue: job.queueName, jobId: job.id, reason }, 'dead-lettered');
    await retry(() => addDeadLetter(this.#ctx.relay().queue(this.#ctx.keys.deadLetterQueue), job, reason, node.name, node.clock.now()), {
      what: `dead-lettering job ${job.id}`,
      policy: REDIS_RETRY,
      signal: this.#ctx.signal,
      onFailure: (error) => {
        if (this.#ctx.signal.aborted) return false;
        logger.warn({ err: error }, 'dead-lettering failed; retrying');
      },
    });
  }

  /** A message its target's kind refused (it is dead-lettered too). */
  refused(target: EntityAddress): void {
    this.#refused.set(target.entity, (this.#refused.get(target.entity) ?? 0) + 1);
  }

  /** A job skipped because its target had handled its message id before: nothing changed. */
  duplicate(target: EntityAddress, jobId: string | undefined, id: string): void {
    this.#duplicates.set(target.entity, (this.#duplicates.get(target.entity) ?? 0) + 1);
    this.#ctx.logger().warn({ jobId, messageId: id, entity: target.entity, key: target.key }, 'skipped a job whose message id was handled before: nothing changed');
  }

  refusedMessages(): Record<string, number> {
    return Object.fromEntries(this.#refused);
  }

  duplicateMessages(): Record<string, number> {
    return Object.fromEntries(this.#duplicates);
  }

  /** Dead letters, oldest first (`start`/`end` are positions, inclusive). */
  list(start: number, end: number): Promise<DeadLetter[]> {
    return listDeadLetters(this.#ctx.relay().queue(this.#ctx.keys.deadLetterQueue), start, end);
  }

  /** Puts a dead letter back into its queue, with corrected data if given. */
  replay(id: string, options: { data?: unknown }): Promise<ReplayResult> {
    const relay = this.#ctx.relay();
    return replayDeadLetter(relay.queue(this.#ctx.keys.deadLetterQueue), (name) => relay.queue(name), id, options);
  }
}
