import type { PassivationCounts } from '../../runtime/memory-pressure.ts';
import type { Logger } from 'pino';
import { every, systemClock } from '../../runtime/clock.ts';
import type { EntityAddress } from '../../runtime/entity.ts';
import { backoffDelay, sleep, type BackoffPolicy } from '../../runtime/retry.ts';
import type { PartitionId, RedisKeys } from '../../store/redis-keys.ts';
import type { TransportSettings } from './options.ts';
import { PartitionRuntime, type PartitionContext } from './partition.ts';

/** Starting a claimed partition again: 100 ms, doubling, up to 2 s, while its lease is held. */
const START_RETRY: BackoffPolicy = { initialMs: 100, maxMs: 2_000 };

/** What partition ownership needs from its transport. @internal */
export interface PartitionOwnershipContext {
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  logger(): Logger;
  /** The kinds this node hosts (the partitions it may claim when distributed). */
  kinds(): readonly string[];
  /** What a partition runtime is given: the transport's wiring. */
  partitionContext(): PartitionContext;
  partitionOf(address: EntityAddress): PartitionId;
  /** The transport is starting or running (a partition claimed then may start). */
  mayRun(): boolean;
  /** A partition started: its entities at rest may have timers due. */
  started(): void;
  /** Aborted once the transport has stopped: a start retry waiting out its backoff ends at once. */
  readonly signal: AbortSignal;
}

/** "2" before "10". One collator: `localeCompare` with options builds one per comparison (the membership heartbeat sorts every few seconds). */
const NATURAL_ORDER = new Intl.Collator('en', { numeric: true });

/**
 * The partitions this node consumes: one {@link PartitionRuntime} per partition whose lease it
 * holds, started when membership claims it (again and again, with backoff, while the lease is
 * held), stopped when it is released or lost, and passivating idle entities meanwhile.
 *
 * @internal one concept of the BullMQ transport, behind its façade.
 */
export class PartitionOwnership {
  readonly #ctx: PartitionOwnershipContext;
  readonly #partitions = new Map<PartitionId, PartitionRuntime>();

  constructor(ctx: PartitionOwnershipContext) {
    this.#ctx = ctx;
  }

  /** The runtime of a partition this node holds. */
  get(partition: PartitionId): PartitionRuntime | undefined {
    return this.#partitions.get(partition);
  }

  runtimes(): IterableIterator<PartitionRuntime> {
    return this.#partitions.values();
  }

  /** The partitions this node holds, in their natural order. */
  owned(): PartitionId[] {
    return [...this.#partitions.keys()].sort(NATURAL_ORDER.compare);
  }

  /** The partitions this node may claim, by kind (`*` for all when sharded). */
  eligible(): Map<string, PartitionId[]> {
    const { settings } = this.#ctx;
    const indexes = Array.from({ length: settings.partitions }, (_, i) => i);
    if (settings.placement === 'sharded') return new Map([['*', indexes.map(String)]]);
    const kinds = settings.nodeKinds ?? this.#ctx.kinds();
    return new Map(kinds.map((kind) => [kind, indexes.map((i) => `${kind}.${i}`)]));
  }

  /** Membership claimed a partition: start consuming it. */
  async claimed(partition: PartitionId): Promise<void> {
    const previous = this.#partitions.get(partition);
    if (previous && !previous.stopping) return;
    // Claimed again while its last run here is still stopping (lost, then free again): let it end first.
    if (previous) await previous.stop({ graceful: false, timeoutMs: 0 });
    const runtime = new PartitionRuntime(this.#ctx.partitionContext(), partition, this.#ctx.keys.partitionQueue(partition));
    this.#partitions.set(partition, runtime);
    this.#ctx.logger().info({ partition }, 'partition claimed');
    // The beat waits for the first attempt only: it must go on renewing the lease meanwhile.
    if (!(await this.#tryStart(runtime, 1))) void this.#keepStarting(runtime);
  }

  async #tryStart(runtime: PartitionRuntime, attempt: number): Promise<boolean> {
    try {
      await runtime.start();
      // Its entities at rest may have timers due (a node that held it died or left): look now.
      this.#ctx.started();
      return true;
    } catch (error) {
      const logger = this.#ctx.logger();
      if (!this.#mayStart(runtime)) logger.info({ err: error, partition: runtime.id }, 'a partition start ended: this node no longer holds it');
      else logger.error({ err: error, partition: runtime.id, attempt }, 'could not start a claimed partition; retrying while its lease is held');
      return false;
    }
  }

  /**
   * Starts a claimed partition again and again, with backoff, until it runs or is no longer this
   * node's (lost, released, shut down). The runtime stays owned meanwhile, so the beats renew its
   * lease. Retrying in place, as a supervisor restarts a child and a BullMQ worker reconnects:
   * a start fails when Redis is away or a client of it is in a bad state, and both pass. Giving
   * the lease back instead would leave the partition idle: the other nodes claim only up to their
   * fair share, so none takes it while this node is alive, and this node claims it again.
   */
  async #keepStarting(runtime: PartitionRuntime): Promise<void> {
    for (let attempt = 2; ; attempt++) {
      if (!(await sleep(backoffDelay(START_RETRY, attempt - 2), { signal: this.#ctx.signal }))) break;
      if (!this.#mayStart(runtime)) break;
      if (await this.#tryStart(runtime, attempt)) return;
      if (!this.#mayStart(runtime)) break;
    }
    this.forget(runtime);
    await runtime.stop({ graceful: false, timeoutMs: 0 });
  }

  #mayStart(runtime: PartitionRuntime): boolean {
    return !runtime.stopping && this.#partitions.get(runtime.id) === runtime && this.#ctx.mayRun();
  }

  /** Membership gives a partition back (nodes joined): stop it gracefully, then forget it. */
  async release(partition: PartitionId): Promise<void> {
    const runtime = this.#partitions.get(partition);
    if (!runtime) return;
    await runtime.stop({ graceful: true, timeoutMs: this.#ctx.settings.lockDurationMs });
    this.#partitions.delete(partition);
    this.#ctx.logger().info({ partition }, 'partition released');
  }

  /** Membership found the lease lost: stop at once. */
  lost(partition: PartitionId): void {
    void this.#partitions
      .get(partition)
      ?.stop({ graceful: false, timeoutMs: 0 })
      .then(() => this.#partitions.delete(partition));
  }

  /** A runtime is no longer this node's: out of the table, unless a newer run took its place. */
  forget(runtime: PartitionRuntime): void {
    if (this.#partitions.get(runtime.id) === runtime) this.#partitions.delete(runtime.id);
  }

  /** Every partition's job in flight finished and its commit answered, then a flush of the rest. */
  async flushed(): Promise<void> {
    await Promise.all([...this.#partitions.values()].map((runtime) => runtime.exclusive(() => runtime.flush())));
  }

  /** Commits an entity's changes and takes it out of memory; its next message brings it back. */
  async passivate(address: EntityAddress): Promise<boolean> {
    const runtime = this.#partitions.get(this.#ctx.partitionOf(address));
    return runtime ? runtime.passivate(address) : false;
  }

  /**
   * Passivates idle entities every half `passivateAfterMs` (at least 1 s), counted in
   * `counts.idle`, until the returned function is called.
   */
  passivateIdle(counts: PassivationCounts): () => void {
    const { passivateAfterMs } = this.#ctx.settings;
    const interval = Math.max(1_000, Math.round(passivateAfterMs / 2));
    return every(
      systemClock,
      interval,
      () => {
        // Idleness is memory's concern, so it is measured in real time; timers are the node's. On a
        // clock that jumps (GOVERNOR_TEST_CLOCK, days at a time) node time would make every entity
        // idle at once. A passivated entity's timers are not lost: the timer index wakes it.
        const before = systemClock.now() - passivateAfterMs;
        for (const runtime of this.#partitions.values()) void runtime.passivateIdle(before).then((count) => void (counts.idle += count), () => undefined);
      },
      { unref: true },
    );
  }

  /** Stops every partition (gracefully, each within `timeoutMs`); returns the ids it held. */
  async stopAll(timeoutMs: number): Promise<PartitionId[]> {
    const runtimes = [...this.#partitions.values()];
    await Promise.all(runtimes.map((runtime) => runtime.stop({ graceful: true, timeoutMs })));
    return runtimes.map((runtime) => runtime.id);
  }

  clear(): void {
    this.#partitions.clear();
  }
}
