import type { Logger } from 'pino';
import { systemClock, unrefTimer, type Clock } from '../../runtime/clock.ts';
import type { EntityAddress } from '../../runtime/entity.ts';
import { backoffDelay, type BackoffPolicy } from '../../runtime/retry.ts';
import type { PartitionId } from '../../store/redis-keys.ts';
import type { RedisStore } from '../../store/redis-store.ts';

/** Looking again after a failed read of the timer index: 1 s, doubling, up to 10 s. */
const LOOK_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 10_000 };

/** @internal what the wake needs of a partition running here. */
export interface WakeablePartition {
  readonly id: PartitionId;
  readonly active: boolean;
  /** Brings back the entities that are not running here (loaded, restored: their due timers fire). */
  wake(addresses: readonly EntityAddress[]): Promise<void>;
}

/** @internal */
export interface TimerWakeContext {
  /** The node's clock: the one entity timers run on (a test clock's jump fires the wake too). */
  readonly clock: Clock;
  readonly store: RedisStore;
  readonly logger: Logger;
  /** The partitions this node owns now. */
  partitions(): Iterable<WakeablePartition>;
}

/** Due entities read per partition and look; a full page looks again soon. */
const PAGE = 1_000;

/**
 * Wakes entities whose timer falls due while they are not in memory: passivated, or on a
 * partition this node has just claimed. A running entity's timers are armed on the clock and need
 * nothing; one at rest has them only in its stored state, where nothing would fire them until its
 * next message — an idle customer would never reach trial end, dunning or lapse.
 *
 * Every commit keeps, with the state and in the same script, the entity's earliest deadline in its
 * partition's timer index (`RedisKeys.timers`). This node arms ONE clock timer at the earliest
 * deadline it knows of; when it fires (or a partition is claimed) it reads each owned partition's
 * due entities and brings back those not running: restoring fires their overdue timers in
 * deadline order, and the flush commits the result, which rewrites their index entries. Then it
 * arms at the earliest deadline still ahead.
 */
export class TimerWake {
  readonly #ctx: TimerWakeContext;
  #armedAt: number | undefined;
  #handle: unknown;
  #looking: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #retry: unknown;
  /** Failed looks in a row: the backoff of the next one. */
  #failures = 0;

  constructor(ctx: TimerWakeContext) {
    this.#ctx = ctx;
  }

  /** A commit wrote `deadline` as an entity's earliest: arm there if that is before the armed time. */
  committed(deadline: number): void {
    if (this.#stopped) return;
    if (this.#armedAt === undefined || deadline < this.#armedAt) this.#arm(deadline);
  }

  /** Looks at the owned partitions now (one was claimed, or the armed time came). */
  look(): void {
    if (this.#stopped) return;
    if (this.#looking) {
      this.#again = true;
      return;
    }
    this.#looking = this.#look()
      .then(
        () => {
          this.#failures = 0;
        },
        (error: unknown) => {
          // Redis away, most likely: look again shortly rather than leave timers unfired.
          const delayMs = backoffDelay(LOOK_RETRY, this.#failures++);
          this.#ctx.logger.warn({ err: error, delayMs }, `could not read the timer index; looking again in ${delayMs} ms`);
          this.#later(delayMs);
        },
      )
      .finally(() => {
        this.#looking = undefined;
        if (this.#again) {
          this.#again = false;
          this.look();
        }
      });
  }

  /** Resolves when the look under way (if any) is done: for tests and a graceful stop. */
  async idle(): Promise<void> {
    while (this.#looking) await this.#looking;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#ctx.clock.clearTimeout(this.#handle);
    if (this.#retry !== undefined) systemClock.clearTimeout(this.#retry);
    this.#handle = undefined;
    this.#armedAt = undefined;
  }

  async #look(): Promise<void> {
    const { clock, store } = this.#ctx;
    const now = clock.now();
    let next: number | undefined;
    let full = false;
    for (const partition of this.#ctx.partitions()) {
      if (!partition.active) continue;
      const { due, unreadable } = await store.dueEntities(partition.id, now, PAGE);
      if (due.length + unreadable.length === PAGE) full = true;
      if (unreadable.length > 0) {
        this.#ctx.logger.warn({ partition: partition.id, members: unreadable.slice(0, 10), count: unreadable.length }, 'timer index members that name no entity (not written by a commit): removed');
        await store.forgetTimers(partition.id, unreadable);
      }
      if (due.length > 0) await partition.wake(due);
      const after = await store.nextDeadline(partition.id, now);
      if (after !== undefined && (next === undefined || after < next)) next = after;
    }
    if (next !== undefined && (this.#armedAt === undefined || this.#armedAt <= now || next < this.#armedAt)) this.#arm(next);
    // More due than one page: the next page once these have committed (real time: a simulated
    // clock would not move on its own).
    if (full) this.#later(100);
  }

  #arm(deadline: number): void {
    const { clock } = this.#ctx;
    if (this.#handle !== undefined) clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedAt = undefined;
    if (deadline <= clock.now()) {
      // Due already (the clock moved while we looked): a simulated clock would hold a timer of
      // no delay until its next move, so look again at once instead.
      this.#later(0);
      return;
    }
    this.#armedAt = deadline;
    this.#handle = clock.setTimeout(
      () => {
        this.#handle = undefined;
        this.#armedAt = undefined;
        this.look();
      },
      Math.max(0, deadline - clock.now()),
    );
  }

  #later(ms: number): void {
    if (this.#retry !== undefined || this.#stopped) return;
    this.#retry = systemClock.setTimeout(() => {
      this.#retry = undefined;
      this.look();
    }, ms);
    unrefTimer(this.#retry);
  }
}
