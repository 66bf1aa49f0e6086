import { WaitingError, type Job, type Worker } from 'bullmq';
import type { Context } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { entityName, type EntityAddress } from '../../runtime/entity.ts';
import type { Pid } from '../../runtime/pid.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import { formatReason } from '../../runtime/exit-reason.ts';
import type { TransportEndpoint } from '../../runtime/transport.ts';
import { systemClock, unrefTimer } from '../../runtime/clock.ts';
import { REDIS_RETRY, retry, settledWithin, type RetryOptions } from '../../runtime/retry.ts';
import { StoredStateError, type DatasetRolledBackError } from '../../store/redis-errors.ts';
import type { PartitionId } from '../../store/redis-keys.ts';
import { earliestDeadline, type CommitBatch, type CommitEntry, type CommitResult, type RedisStore } from '../../store/redis-store.ts';
import { coalesceWrites } from './coalesced-writes.ts';
import { DeadLetteredError } from './dead-letters.ts';
import { checkEntityJob } from './entity-job.ts';
import type { EntityCache, EntityRecord } from './entity-cache.ts';
import { checkFetchedJob, GuardedWorker } from './guarded-worker.ts';
import type { TransportSettings } from './options.ts';
import type { OutgoingJob, Relay } from './relay.ts';
import type { JobTracing } from './job-tracing.ts';
import { knowCommitted, readRecordsInto, recordsToRead } from './record-lookup.ts';
import { jobScope, type Scope } from './scope.ts';

/** What a partition needs from its transport. @internal */
export interface PartitionContext {
  readonly node: TransportEndpoint;
  readonly settings: TransportSettings;
  readonly logger: Logger;
  readonly store: RedisStore;
  readonly relay: Relay;
  readonly cache: EntityCache;
  readonly workerConnection: Redis;
  /** The node's spans, when it traces (the transport option `tracing`). */
  readonly tracing?: JobTracing | undefined;
  /** Runs `work` as one sync window attributed to `scope`. */
  inScope(scope: Scope, work: () => void): void;
  /**
   * Loads the entities not in the cache yet; throws {@link StoredStateError} for an unreadable
   * state. `undefined` when they all are (no promise to wait for).
   */
  load(addresses: readonly EntityAddress[]): Promise<void> | undefined;
  /** The entities to load with a message's target: the other kinds of its key, co-located with it. */
  coLocated(target: EntityAddress): EntityAddress[];
  partitionOf(address: EntityAddress): PartitionId;
  /**
   * Dead-letters a job, then throws a `DeadLetteredError`: the processor lets it through, and
   * BullMQ fails the job in its queue with the reason (not retried, not handled).
   */
  deadLetter(job: Job, reason: string): Promise<never>;
  /** Dead-letters a job BullMQ failed by itself (it is failed already: nothing thrown). */
  recordDeadLetter(job: Job, reason: string): Promise<void>;
  /** Counts a message its target's kind refused (it is dead-lettered like any bad job). */
  refused(target: EntityAddress): void;
  /** Counts and logs a job whose message id its target had handled already (skipped: nothing changed). */
  duplicate(target: EntityAddress, jobId: string | undefined, id: string): void;
  /** Counts a commit the commit script refused (for metrics). */
  commitRefused(result: 'conflict' | 'lost'): void;
  /** Whether the entity runs here now (its timers are armed on the clock). */
  running(address: EntityAddress): boolean;
  /** Starts a loaded entity from its committed state, outside any job: its due timers fire. */
  wake(address: EntityAddress): void;
  /** A commit stored `deadline` as the earliest timer of an entity it wrote (see `TimerWake`). */
  timersCommitted(deadline: number): void;
  /** Ends an entity's process without saving: memory goes back to the last commit. */
  dropProcess(address: EntityAddress): void;
  /** The partition is no longer this node's (its lease is lost): stop it now. */
  lost(partition: PartitionRuntime): void;
  /** A commit was refused because the dataset went backwards: the node stops taking work. */
  rolledBack(error: DatasetRolledBackError): void;
}

type RuntimeState = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One partition owned by this node: its queue's only consumer, at concurrency 1, so the messages
 * of one key are handled in enqueue order. Handling a job, in order:
 *
 * 1. Check the job (format, entity kind, partition, and the message as the kind's `accepts`
 *    says); a bad job is dead-lettered at once, with the reason, and failed in its queue with the
 *    same reason (never retried): nothing is written, and the next job follows as after a completion.
 * 2. Load the target and its co-located entities into the cache, if they are not there.
 * 3. Deliver the message in a job scope: co-located entities talk in memory, everything sent
 *    elsewhere joins the pending outbox, every entity that steps is marked dirty.
 * 4. An entity crashed: memory goes back to the last commit and the message is re-run, up to the
 *    retry budget, then dead-lettered. An entity was not loaded: load it, re-run.
 * 5. Commit atomically (one script): dirty states at their versions, the message id as handled,
 *    the outbox — fenced by the lease — and let BullMQ complete the job right behind it on the
 *    same connection. A commit that does not happen deletes the job's lock, so the completion
 *    fails and the job returns to the head of its queue. A duplicate or a conflict resets memory;
 *    a lost lease stops the partition here; a dataset that went backwards stops the node.
 * 6. Relay the outbox into the queues (in order, batched) and drop the relayed entries later.
 *
 * Timers and node-inbox deliveries change entities between jobs; their changes are committed by
 * a flush, which runs in the same lock as jobs, so commits of one partition never interleave.
 */
export class PartitionRuntime {
  readonly id: PartitionId;
  readonly queue: string;
  readonly dirty = new Set<EntityRecord>();
  /** Messages sent by uncommitted steps, in send order. */
  pending: OutgoingJob[] = [];
  readonly #ctx: PartitionContext;
  #relayed = 0;
  #lock: Promise<unknown> = Promise.resolve();
  /** The last job's commit, sent ahead of its completion: the next task starts once its answer is in. */
  #inflight: Promise<void> = Promise.resolve();
  #worker: Worker | undefined;
  #state: RuntimeState = 'starting';
  #stopping: Promise<void> | undefined;
  #flushQueued = false;
  /** The traced work that first asked for the pending flush: its commit's span is a child of it. */
  #flushCause: Context | undefined;
  #trimTimer: unknown;
  /** Aborted once the partition has stopped: a Redis retry waiting out its backoff ends at once. */
  readonly #stopped = new AbortController();
  /**
   * How a commit is retried: built once, not per commit (a job's commit is the hottest path of a
   * node, and under tsx every closure it names costs a `defineProperty`).
   */
  readonly #commitRetry: RetryOptions;

  constructor(ctx: PartitionContext, id: PartitionId, queue: string) {
    this.#ctx = ctx;
    this.id = id;
    this.queue = queue;
    this.#commitRetry = {
      what: `commit of partition ${id}`,
      policy: REDIS_RETRY,
      signal: this.#stopped.signal,
      onFailure: (error) => {
        // The script may or may not have run: running it again answers (duplicate or conflict).
        if (this.#state === 'stopped') return false;
        this.#ctx.logger.warn({ err: error, partition: this.id }, 'commit failed; retrying');
      },
    };
  }

  /** Entities of this partition may run here (the lease is held and the partition is not stopping). */
  get active(): boolean {
    return this.#state === 'running';
  }

  /** Stopping or stopped here (lost, released, shut down). */
  get stopping(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  /** Runs `task` alone: jobs, flushes and stops of one partition never interleave. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(async () => {
      await this.#inflight;
      return task();
    });
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Takes the partition over: relays what a previous owner committed but did not relay, then
   * consumes. May be called again after it threw (each step is idempotent).
   */
  async start(): Promise<void> {
    await this.exclusive(() => this.#recoverOutbox());
    if (this.#state !== 'starting') return;
    const s = this.#ctx.settings;
    await this.#ctx.relay.queue(this.queue).setGlobalConcurrency(1);
    // Lost or released while that was under way: no worker for a partition that is not ours.
    if (this.#state !== 'starting') return;
    const worker = new GuardedWorker(this.queue, (job, token) => this.#process(job, token ?? ''), {
      connection: this.#ctx.workerConnection,
      prefix: s.prefix,
      name: this.#ctx.node.name,
      concurrency: 1,
      lockDuration: s.lockDurationMs,
      stalledInterval: s.stalledIntervalMs,
      maxStalledCount: s.maxStalledCount,
      removeOnComplete: s.removeOnComplete,
      removeOnFail: s.removeOnFail,
      telemetry: s.telemetry,
    });
    worker.on('error', (error) => this.#ctx.logger.debug({ err: error, queue: this.queue }, 'worker error'));
    // BullMQ fails a job only when it stalled too often (its worker died with it, again and again)
    // or the processor threw unexpectedly: it is dead-lettered, never lost. A job the processor
    // dead-lettered itself failed on purpose, its letter written already.
    worker.on('failed', (job, error) => {
      if (job && !(error instanceof DeadLetteredError)) void this.#ctx.recordDeadLetter(job, `failed in BullMQ: ${error.message}`).catch(() => undefined);
    });
    this.#worker = worker;
    this.#state = 'running';
  }

  // ── jobs ───────────────────────────────────────────────────────────────────────────────────

  async #process(job: Job, token: string): Promise<void> {
    const fetched = checkFetchedJob(job);
    const checked = checkEntityJob(fetched, this.#ctx.node.entities, this.queue);
    if (!checked.ok) {
      if (checked.refused) return this.#refuse(job, checked.refused.target, checked.refused.envelope, checked.refused.reason, checked.problem);
      return this.#ctx.deadLetter(job, checked.problem);
    }
    const { id, envelope, target } = checked;
    const partition = this.#ctx.cache.get(target)?.partition ?? this.#ctx.partitionOf(target);
    if (partition !== this.id) {
      return this.#ctx.deadLetter(
        job,
        `${target.entity}/${target.key} belongs to partition ${partition}, not ${this.id}: producers and nodes must use the same number of partitions`,
      );
    }
    const traced = fetched.ok ? this.#ctx.tracing?.startJob(this.queue, job.id, envelope, fetched.trace) : undefined;
    if (!traced) return this.exclusive(() => this.#handle(job, token, id, envelope, target));
    return this.exclusive(() => this.#handle(job, token, id, envelope, target, traced.context)).then(
      () => traced.end(),
      (error: unknown) => {
        traced.end(error);
        throw error;
      },
    );
  }

  /** A message its target's kind refuses: counted and dead-lettered; a caller's call fails now, with the reason. */
  #refuse(job: Job, target: EntityAddress, envelope: Envelope, reason: string, problem: string): Promise<void> {
    this.#ctx.refused(target);
    if (envelope.t === 'call') {
      this.#ctx.node.route({ t: 'down', to: envelope.from, ref: envelope.from.ref, pid: entityName(target) as Pid, reason: { invalid_message: reason } });
    }
    return this.#ctx.deadLetter(job, problem);
  }

  /** `trace`: the context of the job's span, when the node traces. */
  async #handle(job: Job, token: string, id: string, envelope: Envelope, target: EntityAddress, trace?: Context): Promise<void> {
    const ctx = this.#ctx;
    // Traced, the delivery runs as the job's work: its steps are the job span's children. (Not a
    // `const deliver = () => …` of its own: under tsx, every such closure of a job costs a
    // `defineProperty` for its name, and this runs for every message.)
    const work: () => void = trace === undefined ? () => ctx.node.deliver(envelope) : () => ctx.tracing!.within(trace, () => ctx.node.deliver(envelope));
    const crashes: unknown[] = [];
    // Built once per job: every pass of the loop below asks for the same entities.
    const coLocated = ctx.coLocated(target);
    for (;;) {
      if (this.#state !== 'running') return this.#giveBack(job, token);
      const loading = ctx.load(coLocated);
      if (loading) {
        // The first attempt is the load just started: starting another would read every entity
        // twice (two round trips and two parses per cold entity). Retries load what is still missing.
        let first: Promise<void> | undefined = loading;
        try {
          await this.#retrying(() => {
            const attempt = first ?? ctx.load(coLocated) ?? Promise.resolve();
            first = undefined;
            return attempt;
          });
        } catch (error) {
          if (error instanceof StoredStateError) return ctx.deadLetter(job, error.message);
          throw error;
        }
        if (this.#state !== 'running') return this.#giveBack(job, token);
      }
      // The keyed records the delivery will look up (the event's handled record), read first.
      const wanted = envelope.t === 'cast' || envelope.t === 'call' || envelope.t === 'info' ? recordsToRead(ctx.node.entities, ctx.cache, target, envelope.event, coLocated) : [];
      if (wanted.length > 0) {
        try {
          await this.#retrying(() => readRecordsInto(ctx.store, ctx.cache, wanted));
        } catch (error) {
          if (error instanceof StoredStateError) return ctx.deadLetter(job, error.message);
          throw error;
        }
        if (this.#state !== 'running') return this.#giveBack(job, token);
      }
      // The kind's check against what the target has seen (e.g. an idempotency key reused for
      // other content), once it is loaded: refused like a message its `accepts` refuses.
      const stateRefused = ctx.node.entities?.stateRefusal(target, envelope, ctx.cache.get(target)?.state);
      if (stateRefused !== undefined) {
        return this.#refuse(job, target, envelope, stateRefused, `invalid message to ${target.entity}/${target.key}: ${stateRefused}`);
      }

      const scope = jobScope(this.id, id);
      ctx.inScope(scope, work);
      await ctx.node.settle();

      if (scope.missing.length > 0) {
        this.reset();
        await this.#retrying(() => ctx.load(scope.missing) ?? Promise.resolve());
        continue;
      }
      if (scope.missingRecords.length > 0) {
        // A record looked up before it was read: its step crashed undecided. Read it, run again.
        this.reset();
        try {
          await this.#retrying(() => readRecordsInto(ctx.store, ctx.cache, scope.missingRecords));
        } catch (error) {
          if (error instanceof StoredStateError) return ctx.deadLetter(job, error.message);
          throw error;
        }
        continue;
      }
      if (scope.crashes.length > 0) {
        this.reset();
        crashes.push(...scope.crashes);
        if (crashes.length > ctx.settings.retryBudget) {
          const reasons = [...new Set(crashes.map(formatReason))].join('; ');
          return ctx.deadLetter(job, `the handler crashed ${crashes.length} times (retry budget ${ctx.settings.retryBudget}): ${reasons}`);
        }
        continue;
      }

      // The commit goes out now and BullMQ's completion of the job right behind it, on the same
      // connection, without waiting: one round trip per message, as for a plain BullMQ job. A
      // commit that does not happen deletes the job's lock, so the completion fails and the job
      // comes back (see commit-n.lua). The next job starts once the answer is in. Both leave in
      // one write.
      coalesceWrites(ctx.workerConnection);
      const record = ctx.cache.get(target);
      const message = { id, target, handledKey: record?.handledKey, score: (record?.version ?? 0) + 1 };
      this.#inflight = this.#commit(message, { queue: this.queue, id: job.id ?? id, token }, trace).then(
        ({ result }) => this.#committed(result, target, job.id, id),
        (error: unknown) => {
          ctx.logger.error({ err: error, partition: this.id, jobId: job.id }, 'commit failed: memory goes back to the last commit');
          this.reset();
          this.#forgetAll();
        },
      );
      return;
    }
  }

  /**
   * What the answer to a job's commit means for memory (the job itself completed or came back
   * already). Not `async`: the common answer (`ok`) needs no promise of its own (it runs in a
   * `then`, which turns a throw into a rejection all the same).
   */
  #committed(result: CommitResult, target: EntityAddress, jobId: string | undefined, id: string): Promise<void> | void {
    switch (result.status) {
      case 'ok':
        this.#afterCommit(target);
        return;
      case 'duplicate':
        // Handled before (a redelivery after a crash, or a producer's job under a message id
        // used before): its effects are in Redis already. Counted and logged, never silent: the
        // transport cannot tell whether the content differs (a kind's `checkState` can).
        this.#ctx.duplicate(target, jobId, id);
        this.reset();
        return this.#recoverOutbox();
      case 'conflict':
        // Someone else wrote one of the entities: reload them; the job returns through the stalled check.
        this.#ctx.commitRefused('conflict');
        this.reset();
        this.#forgetAll();
        return this.#recoverOutbox();
      case 'lost':
        this.#ctx.commitRefused('lost');
        return this.#lose(result.holder);
      case 'rolledBack':
        this.reset();
        return this.#ctx.rolledBack(result.error);
    }
  }

  /** Puts the job back at the head of its queue for the partition's next owner (order kept). */
  async #giveBack(job: Job, token: string): Promise<void> {
    await job.moveToWait(token).catch(() => undefined);
    throw new WaitingError();
  }

  /** Entities that asked to hibernate leave memory once their state is committed. */
  #afterCommit(target: EntityAddress): void {
    const process = this.#ctx.node.entities?.processOf(target);
    if (process?.hibernateRequested) {
      const record = this.#ctx.cache.get(target);
      if (record && !record.dirty) this.#passivate(record);
    }
  }

  // ── commits ────────────────────────────────────────────────────────────────────────────────

  /** Marks an entity changed in memory; outside a job of this partition, a flush commits it soon. */
  markDirty(record: EntityRecord, byJob: boolean): void {
    record.dirty = true;
    this.dirty.add(record);
    if (!byJob) this.scheduleFlush();
  }

  scheduleFlush(): void {
    if (this.#flushQueued || this.#state !== 'running') return;
    this.#flushQueued = true;
    this.#flushCause = this.#ctx.tracing?.current;
    setImmediate(() => {
      void this.exclusive(() => this.flush()).catch((error: unknown) => this.#ctx.logger.error({ err: error, partition: this.id }, 'flush failed'));
    });
  }

  /** Commits what changed between jobs (timers, inbox deliveries) and drops relayed outbox entries. */
  async flush(): Promise<void> {
    this.#flushQueued = false;
    const cause = this.#flushCause;
    this.#flushCause = undefined;
    if (this.#state === 'stopped') return;
    if (this.dirty.size === 0 && this.pending.length === 0 && this.#relayed === 0) return;
    const { result } = await this.#commit(undefined, undefined, cause);
    if (result.status === 'lost') return this.#lose(result.holder);
    if (result.status === 'rolledBack') return this.#ctx.rolledBack(result.error);
    if (result.status !== 'ok') {
      // A flush has no message id: a conflict means a commit we could not confirm did happen.
      this.reset();
      this.#forgetAll();
      await this.#recoverOutbox();
    }
  }

  /** `trace`: the traced work the commit is for (a job's span), when the node traces. */
  async #commit(
    message: { id: string; target: EntityAddress; handledKey?: string; score?: number } | undefined,
    job?: { queue: string; id: string; token: string },
    trace?: Context,
  ): Promise<{ result: CommitResult }> {
    const ctx = this.#ctx;
    const records: EntityRecord[] = [];
    const entries: CommitEntry[] = [];
    const steps: number[] = [];
    for (const record of this.dirty) {
      // (commitState, not persist: it carries the journal entries the commit must append.)
      const state = record.latest?.() ?? ctx.node.entities?.commitState(record.address);
      if (state === undefined) {
        // Restored and gone before a step (stopped or crashed): memory holds nothing new.
        record.dirty = false;
        this.dirty.delete(record);
        continue;
      }
      records.push(record);
      steps.push(record.steps);
      entries.push({ address: record.address, stateKey: record.stateKey, expectedVersion: record.version, state, committed: record.state });
    }
    const outbox = this.pending;
    this.pending = [];
    const relayed = this.#relayed;
    let result: CommitResult;
    const batch: CommitBatch = { partition: this.id, node: ctx.node.name, message, entries, outbox: outbox.map((entry) => JSON.stringify(entry)), relayed, job };
    // Traced: every commit of a job, and a flush that writes entities or messages (not one that
    // only drops relayed outbox entries, which would be a span per relayed batch about nothing).
    const traced = ctx.tracing !== undefined && (trace !== undefined || entries.length > 0 || outbox.length > 0);
    try {
      result = traced
        ? await ctx.tracing!.commit(trace, { 'governor.partition': this.id, 'governor.commit.entities': entries.length, 'governor.commit.messages': outbox.length }, () =>
            retry(() => ctx.store.commit(batch), this.#commitRetry),
          )
        : await retry(() => ctx.store.commit(batch), this.#commitRetry);
    } catch {
      // Stopped while failing: the lease is gone or going, and the next holder commits again.
      return { result: { status: 'lost', holder: '' } };
    }
    if (result.status === 'ok') {
      let earliest: number | undefined;
      for (const entry of entries) {
        const deadline = entry.state ? earliestDeadline(entry.state) : undefined;
        if (deadline !== undefined && (earliest === undefined || deadline < earliest)) earliest = deadline;
      }
      if (earliest !== undefined) ctx.timersCommitted(earliest);
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        record.version = result.versions[i]!;
        record.state = entries[i]!.state ?? undefined;
        knowCommitted(record, entries[i]!.state?.records);
        if (record.steps === steps[i]) {
          record.dirty = false;
          record.latest = undefined;
          this.dirty.delete(record);
          // Its store is now what it holds in memory: at rest, it need not keep its snapshot
          // until the sweep (no-op unless the host's `hibernation.afterCommit` is on).
          ctx.node.entities?.hibernateCommitted(record.address);
        }
      }
      this.#relayed -= relayed;
      if (outbox.length > 0) {
        ctx.relay.push(outbox, () => {
          this.#relayed += outbox.length;
          this.#scheduleTrim();
        });
      }
    } else {
      this.pending = outbox.concat(this.pending);
    }
    return { result };
  }

  /** Relayed entries are dropped by the next commit; when none comes soon, by a flush. */
  #scheduleTrim(): void {
    if (this.#trimTimer !== undefined) return;
    this.#trimTimer = systemClock.setTimeout(() => {
      this.#trimTimer = undefined;
      if (this.#relayed > 0) this.scheduleFlush();
    }, 1_000);
    unrefTimer(this.#trimTimer);
  }

  /** Relays whatever the partition's outbox holds in Redis (left by a dead owner, or by a commit we could not confirm). */
  async #recoverOutbox(): Promise<void> {
    const ctx = this.#ctx;
    await ctx.relay.idle();
    const entries = await this.#retrying(() => ctx.store.readOutbox(this.id));
    if (entries.length > 0) {
      const jobs: OutgoingJob[] = [];
      for (const entry of entries) {
        try {
          jobs.push(JSON.parse(entry) as OutgoingJob);
        } catch (error) {
          ctx.logger.error({ err: error, partition: this.id, entry }, 'unreadable outbox entry dropped');
        }
      }
      await new Promise<void>((resolve) => ctx.relay.push(jobs, resolve));
      ctx.logger.info({ partition: this.id, relayed: jobs.length }, 'relayed a previous outbox');
    }
    this.#relayed = entries.length;
    const { result } = await this.#commit(undefined);
    if (result.status === 'lost') this.#lose(result.holder);
    if (result.status === 'rolledBack') this.#ctx.rolledBack(result.error);
  }

  /** Memory back to the last commit: dirty entities leave memory (they come back from the cache), pending messages are dropped. */
  reset(): void {
    for (const record of this.dirty) {
      record.dirty = false;
      record.latest = undefined;
      this.#ctx.dropProcess(record.address);
    }
    this.dirty.clear();
    this.pending = [];
  }

  /** Forgets every cached entity of the partition (after a conflict: reload them from Redis). */
  #forgetAll(): void {
    for (const record of this.#ctx.cache.inPartition(this.id)) this.#passivate(record);
  }

  #passivate(record: EntityRecord): void {
    this.#ctx.dropProcess(record.address);
    this.#ctx.cache.delete(record);
    this.dirty.delete(record);
  }

  /**
   * Passivates the entities idle since `before` (their states are committed), timers or not: the
   * partition's timer index wakes one when its earliest timer falls due (`TimerWake`).
   */
  async passivateIdle(before: number): Promise<number> {
    return this.exclusive(async () => {
      let count = 0;
      for (const record of this.#ctx.cache.inPartition(this.id)) {
        if (record.dirty || record.lastUsed >= before) continue;
        this.#passivate(record);
        count++;
      }
      return count;
    });
  }

  /**
   * Brings back the entities of this partition whose timer is due and that are not running here
   * (passivated, or never started since the partition was claimed): loaded, then restored outside
   * any job, which fires their overdue timers in deadline order; the flush commits what they did.
   * One with nothing stored any more is left alone (it would start fresh, which no timer asked for).
   */
  async wake(addresses: readonly EntityAddress[]): Promise<void> {
    await this.exclusive(async () => {
      const ctx = this.#ctx;
      if (this.#state !== 'running') return;
      const foreign = addresses.filter((address) => ctx.partitionOf(address) !== this.id);
      if (foreign.length > 0) {
        // No commit of this partition writes them: they would be read at every look, never woken here.
        ctx.logger.warn({ partition: this.id, entities: foreign.slice(0, 10).map((a) => `${a.entity}/${a.key}`), count: foreign.length }, 'timer index entries of entities of another partition: removed');
        await this.#retrying(() => ctx.store.forgetTimers(this.id, foreign.map((a) => ctx.store.keys.timerMember(a))));
      }
      const asleep = addresses.filter((address) => ctx.partitionOf(address) === this.id && !ctx.running(address));
      if (asleep.length === 0) return;
      for (const address of asleep) {
        try {
          await this.#retrying(() => ctx.load([address]) ?? Promise.resolve());
        } catch (error) {
          // An unreadable state cannot be woken; its next message is dead-lettered with the reason.
          ctx.logger.error({ err: error, partition: this.id, entity: address.entity, key: address.key }, 'could not load an entity whose timer is due');
          continue;
        }
        if (this.#state !== 'running') return;
        const record = ctx.cache.get(address);
        if (record?.state === undefined) {
          // Nothing stored (deleted since): no timer to fire. Its index entry goes, under this
          // partition's lock, so no commit of the same entity can come between.
          ctx.logger.warn({ partition: this.id, entity: address.entity, key: address.key }, 'a timer index entry names an entity with nothing stored: removed');
          await this.#retrying(() => ctx.store.forgetTimers(this.id, [ctx.store.keys.timerMember(address)]));
        } else if (!ctx.running(address)) ctx.wake(address);
      }
    });
  }

  /** Commits an entity's pending changes and takes it out of memory. */
  async passivate(address: EntityAddress): Promise<boolean> {
    return this.exclusive(async () => {
      await this.flush();
      const record = this.#ctx.cache.get(address);
      if (!record || record.dirty) return false;
      this.#passivate(record);
      return true;
    });
  }

  // ── stopping ───────────────────────────────────────────────────────────────────────────────

  #lose(holder: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#ctx.logger.warn({ partition: this.id, holder }, 'partition lease lost: stopping it here');
    this.reset();
    void this.stop({ graceful: false, timeoutMs: 0 });
    this.#ctx.lost(this);
  }

  /**
   * Stops consuming. Graceful: the job in flight finishes (up to `timeoutMs`), changes are
   * flushed and relayed; otherwise the job in flight is abandoned (it returns to the queue's head
   * when its lock runs out). Either way the partition's entities leave memory.
   */
  stop(options: { graceful: boolean; timeoutMs: number }): Promise<void> {
    this.#stopping ??= this.#stop(options);
    return this.#stopping;
  }

  async #stop({ graceful, timeoutMs }: { graceful: boolean; timeoutMs: number }): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (this.#trimTimer !== undefined) systemClock.clearTimeout(this.#trimTimer);
    const worker = this.#worker;
    if (worker) {
      const closing = worker.close(!graceful).catch(() => undefined);
      if (graceful) await settledWithin(closing, timeoutMs);
    }
    if (graceful && wasRunning) {
      await settledWithin(this.exclusive(() => this.flush()), timeoutMs);
      await settledWithin(this.#ctx.relay.idle(), timeoutMs);
    }
    this.reset();
    for (const record of this.#ctx.cache.inPartition(this.id)) this.#passivate(record);
    this.#state = 'stopped';
    this.#stopped.abort();
  }

  /** Retries an idempotent Redis operation until it succeeds or the partition stops. */
  async #retrying<T>(operation: () => Promise<T>): Promise<T> {
    return retry(operation, {
      what: `a Redis operation of partition ${this.id}`,
      policy: REDIS_RETRY,
      signal: this.#stopped.signal,
      onFailure: (error) => {
        if (error instanceof StoredStateError || this.#state === 'stopped') return false;
        this.#ctx.logger.warn({ err: error, partition: this.id }, 'Redis operation failed; retrying');
      },
    });
  }
}
