import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { EntityAddress } from '../../runtime/entity.ts';
import { REDIS_RETRY, retry } from '../../runtime/retry.ts';
import type { TransportEndpoint } from '../../runtime/transport.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';
import { addDeadLetter, DeadLetteredError, listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayResult } from './dead-letters.ts';
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
  /** Jobs dead-lettered, by {@link deadLetterReasonCode}. */
  readonly #deadLettered = new Map<string, number>();
  /** Commits the commit script refused, by result. */
  readonly #commitConflicts = new Map<'conflict' | 'lost', number>();

  constructor(ctx: DeadLetterDeskContext) {
    this.#ctx = ctx;
  }

  /**
   * Moves a job to the `dlq` queue with its reason (retried, adds are idempotent, until the
   * transport stops), then throws a {@link DeadLetteredError}: a processor lets it through, and
   * BullMQ fails the job in its own queue with the reason, never retried. Outside a processor
   * (a job BullMQ failed itself), use {@link record}.
   */
  async deadLetter(job: Job, reason: string): Promise<never> {
    await this.record(job, reason);
    throw new DeadLetteredError(reason);
  }

  /** Moves a job to the `dlq` queue with its reason, logged and counted; see {@link deadLetter}. */
  async record(job: Job, reason: string): Promise<void> {
    const node = this.#ctx.node();
    const logger = this.#ctx.logger();
    logger.warn({ queue: job.queueName, jobId: job.id, reason }, 'dead-lettered');
    const code = deadLetterReasonCode(reason);
    this.#deadLettered.set(code, (this.#deadLettered.get(code) ?? 0) + 1);
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

  /** A commit the commit script refused: `conflict` (a version moved) or `lost` (the lease was gone). */
  commitRefused(result: 'conflict' | 'lost'): void {
    this.#commitConflicts.set(result, (this.#commitConflicts.get(result) ?? 0) + 1);
  }

  deadLettered(): Record<string, number> {
    return Object.fromEntries(this.#deadLettered);
  }

  commitConflicts(): Record<string, number> {
    return Object.fromEntries(this.#commitConflicts);
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

/**
 * Why a job was dead-lettered, as a short code for a metric label: the reason itself is free text
 * (it names keys and jobs), which would make one series per job. Read from the reasons' fixed
 * openings, written where the desk is called (partition.ts, entity-job.ts, the transport).
 */
export function deadLetterReasonCode(reason: string): string {
  for (const [pattern, code] of REASON_CODES) if (pattern.test(reason)) return code;
  return 'other';
}

const REASON_CODES: readonly (readonly [RegExp, string])[] = [
  [/^invalid job: /, 'invalid_job'],
  [/^a partition job must be addressed to an entity/, 'invalid_job'],
  [/^unknown entity kind /, 'unknown_kind'],
  [/^invalid message to /, 'refused_by_kind'],
  [/ belongs to partition .*, not /, 'wrong_partition'],
  [/^the handler crashed \d+ times/, 'retry_budget_exhausted'],
  [/^failed in BullMQ: /, 'failed_in_bullmq'],
  [/^the state stored at /, 'stored_state_unreadable'],
];
