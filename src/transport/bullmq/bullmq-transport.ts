import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { pino, type Logger } from 'pino';
import { every, systemClock, TestClock, type Clock } from '../../runtime/clock.ts';
import { isEntityAddress, type EntityAddress } from '../../runtime/entity.ts';
import type { EntityHostOptions } from '../../runtime/entity-host.ts';

/** What a BullMQ node's host may set of `EntityHostOptions.hibernation`; the transport gives the rest. */
export type EntityHibernation = Pick<NonNullable<EntityHostOptions['hibernation']>, 'afterMs' | 'afterCommit'>;
import type { Envelope } from '../../runtime/envelope.ts';
import { isCleanExit } from '../../runtime/exit-reason.ts';
import { isPid, nodeOfPid, type Pid } from '../../runtime/pid.ts';
import { DatasetEpoch } from '../../store/dataset-epoch.ts';
import { checkKeyLayout } from '../../store/layout-check.ts';
import type { DatasetRolledBackError } from '../../store/redis-errors.ts';
import { RedisKeys, type PartitionId } from '../../store/redis-keys.ts';
import { withScripts } from '../../store/redis-scripts.ts';
import { RedisStore } from '../../store/redis-store.ts';
import type { Transport, TransportEndpoint } from '../../runtime/transport.ts';
import { checkRedisSettings, closeConnections, openConnections, readyWithin, type Connections } from './connections.ts';
import type { DeadLetter, ReplayResult } from './dead-letters.ts';
import { DatasetWatch } from './dataset-watch.ts';
import { DeadLetterDesk } from './dead-letter-desk.ts';
import { EnvelopeRouter } from './envelope-router.ts';
import { JobTracing } from './job-tracing.ts';
import { EntityScopes } from './entity-scopes.ts';
import { PartitionOwnership } from './partition-ownership.ts';
import { EntityCache } from './entity-cache.ts';
import { knownRecord } from './record-lookup.ts';
import { checkFetchedJob, GuardedWorker } from './guarded-worker.ts';
import { KeyPartitions } from '../../store/key-partitions.ts';
import { Membership, type ClusterNode, type NodeInfo } from './membership.ts';
import { resolveSettings, type BullmqTransportOptions, type TransportSettings } from './options.ts';
import { checkRedisPersistence, describePersistence, type RedisPersistence } from './redis-persistence.ts';
import type { PartitionContext } from './partition.ts';
import { GlobalRegistry, type RegisterResult } from './registry.ts';
import { Relay } from './relay.ts';
import { settledWithin } from '../../runtime/retry.ts';
import { TimerWake } from './timer-wake.ts';
import { HEAP_CHECK_MS, MemoryPressure, type PassivationCounts } from '../../runtime/memory-pressure.ts';
import { MessageIds } from './scope.ts';


/** What a shutdown handed over: the partitions whose leases it released, and those it could not (they expire). */
export interface ShutdownResult {
  readonly released: readonly PartitionId[];
  readonly unreleased: readonly PartitionId[];
}

/**
 * Actor messages as BullMQ jobs in Redis: nodes anywhere that share a Redis share the actors.
 *
 * - Entity messages go to partition queues (`p.<i>`, or `p.<kind>.<i>` when distributed), each
 *   consumed by the one node holding its lease, at concurrency 1: one key's messages are handled
 *   in enqueue order, partitions in parallel. See {@link PartitionRuntime} for one job's steps.
 * - Envelopes for pids (replies, signals, casts to pids) go to the target node's inbox `n.<node>`.
 * - Bad jobs go to the `dlq` queue with their reason; {@link BullmqTransport.listDeadLetters},
 *   {@link BullmqTransport.replayDeadLetter}.
 *
 * Create the node with the transport's clock ({@link BullmqTransport.clock}) and its entity host
 * with {@link BullmqTransport.entityHostOptions}, then `await transport.start()`; or let
 * {@link startBullmqNode} do all of it.
 *
 * A façade: it wires the connections; each concept lives in its own class
 * ({@link EnvelopeRouter}: where an envelope goes; {@link PartitionOwnership}: the partitions it holds; {@link EntityScopes}: the job or ambient
 * work running now and the entities' state; {@link DeadLetterDesk}: refusals and dead letters;
 * {@link DatasetWatch}: a dataset gone backwards; {@link Membership}, {@link Relay},
 * {@link TimerWake}, {@link GlobalRegistry}).
 */
export class BullmqTransport implements Transport {
  readonly kind = 'bullmq';
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  readonly #cache = new EntityCache();
  /** Jobs this node dead-lettered since it started, by reason code (`invalid_job`, `retry_budget_exhausted`, …). */
  deadLetteredJobs(): Record<string, number> {
    return this.#deadLetters.deadLettered();
  }

  /** Commits the commit script refused since this node started: `conflict` (a version moved), `lost` (the lease was gone). */
  commitConflicts(): Record<string, number> {
    return this.#deadLetters.commitConflicts();
  }

  /** Entities passivated since this node started, by why (see {@link BullmqTransport.passivations}). */
  readonly #passivations: PassivationCounts = { idle: 0, memory: 0 };
  readonly #ids = new MessageIds();
  readonly #partitions: PartitionOwnership;
  readonly #scopes: EntityScopes;
  readonly #deadLetters: DeadLetterDesk;
  readonly #watch: DatasetWatch;
  readonly #router: EnvelopeRouter;
  readonly #options: BullmqTransportOptions;
  readonly #keyPartitions: KeyPartitions;
  #node: TransportEndpoint | undefined;
  #logger: Logger;
  #connections: Connections | undefined;
  #store: RedisStore | undefined;
  #workerStore: RedisStore | undefined;
  #relay: Relay | undefined;
  #membership: Membership | undefined;
  #registry: GlobalRegistry | undefined;
  #inbox: Worker | undefined;
  #epoch: DatasetEpoch | undefined;
  #persistence: RedisPersistence | undefined;
  #kinds: readonly string[] = [];
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<ShutdownResult> | undefined;
  readonly #stopTimers: (() => void)[] = [];
  /** Aborted once stopped: a retry waiting out its backoff ends at once, and no timer outlives the transport. */
  readonly #halt = new AbortController();
  #wake: TimerWake | undefined;
  readonly #startedAt = Date.now();
  /** The node runs on a test clock (GOVERNOR_TEST_CLOCK): its heartbeat says so, for nodes(). */
  #testClock = false;
  /** The node's spans, with the `tracing` option only. */
  readonly #tracing: JobTracing | undefined;

  constructor(options: BullmqTransportOptions = {}) {
    this.#options = options;
    this.settings = resolveSettings(options);
    this.keys = new RedisKeys(this.settings.prefix, this.settings);
    this.#keyPartitions = new KeyPartitions(this.settings.partitions, this.settings.placement);
    this.#logger = options.logger ?? pino({ level: 'silent' });
    const logger = () => this.#logger;
    const kinds = () => this.#kinds;
    const partitionOf = (address: EntityAddress) => this.partitionOf(address);
    this.#tracing = this.settings.tracing && new JobTracing(logger, this.settings.tracing);
    this.#partitions = new PartitionOwnership({
      settings: this.settings,
      keys: this.keys,
      logger,
      kinds,
      partitionContext: () => this.#partitionContext(),
      partitionOf,
      mayRun: () => this.#state === 'starting' || this.#state === 'running',
      started: () => this.#wake?.look(),
      signal: this.#halt.signal,
    });
    this.#scopes = new EntityScopes({
      settings: this.settings,
      keys: this.keys,
      cache: this.#cache,
      logger,
      kinds,
      partitionOf,
      runtime: (partition) => this.#partitions.get(partition),
      relay: () => this.#relay,
      store: () => this.#workerStore!,
      entities: () => this.#node?.entities,
    });
    this.#router = new EnvelopeRouter({
      placement: this.settings.placement,
      keys: this.keys,
      cache: this.#cache,
      ids: this.#ids,
      scopes: this.#scopes,
      partitions: this.#partitions,
      partitionOf,
      node: () => this.#node,
      relay: () => this.#relay,
      isDead: (name) => this.#membership?.isDead(name) ?? false,
      logger,
      tracing: this.#tracing,
    });
    this.#deadLetters = new DeadLetterDesk({ keys: this.keys, node: () => this.#requireNode(), relay: () => this.#requireRelay(), logger, signal: this.#halt.signal });
    this.#watch = new DatasetWatch({
      node: () => this.#requireNode(),
      epoch: () => this.#epoch,
      redis: () => this.#connections?.producer,
      logger,
      heartbeatMs: this.settings.heartbeatMs,
      running: () => this.#state === 'running',
      leave: () => this.shutdown({ timeoutMs: 0 }),
    });
  }

  // ── wiring ─────────────────────────────────────────────────────────────────────────────────

  attach(endpoint: TransportEndpoint): void {
    if (this.#node) throw new Error(`this BullMQ transport already serves node "${this.#node.name}": create one transport per node`);
    this.#node = endpoint;
    this.#logger = this.#options.logger ?? endpoint.logger;
    if (this.#tracing) endpoint._stepWatcher = this.#tracing;
    endpoint.onExit((pid, reason, process) => {
      // An entity that exits abnormally while a message is handled crashed on it (as its
      // supervisor sees it): memory goes back to the last commit and the message is retried.
      const scope = this.#scopes.current;
      if (scope && !isCleanExit(reason) && process.name?.startsWith('entity:')) scope.crashes.push(reason);
      this.#registry?.exited(pid);
    });
  }

  /**
   * The clock to create the node with: timers fall due inside a scope, so what an entity does on a
   * timeout is committed with its state. @example createNode({ transport, clock: transport.clock() })
   */
  clock(base: Clock = systemClock): Clock {
    this.#testClock = base instanceof TestClock;
    return {
      now: () => base.now(),
      setTimeout: (fn, ms) => base.setTimeout(() => this.ambient(fn), ms),
      clearTimeout: (handle) => base.clearTimeout(handle),
    };
  }

  /**
   * Options for the node's `EntityHost`: restore from the committed state, record every step.
   * `hibernation` adds the sweep's period and `afterCommit` (each partition hibernates the
   * entities its commit leaves at rest once the commit is in).
   */
  entityHostOptions(kinds: readonly { kind: string }[], hibernation: EntityHibernation = {}): EntityHostOptions {
    this.#kinds = kinds.map((k) => k.kind);
    return {
      restore: (address) => this.#scopes.restore(address),
      records: (address, key) => knownRecord(this.#cache, this.#scopes.current, address, key),
      commit: (address, persist) => this.#scopes.stepped(address, persist),
      // Idle entities hibernate once their commit is in: the cached committed state brings them back.
      hibernation: {
        committed: (address) => this.#cache.get(address)?.state,
        isCommitted: (address) => this.#cache.get(address)?.dirty === false,
        ...hibernation,
      },
    };
  }

  /**
   * Connects, checks Redis' settings and persistence (refusing a Redis without AOF unless
   * `durability` allows data loss: `RedisNotDurableError`), opens the dataset sentinel (refusing a
   * halted dataset: `DatasetRolledBackError`), joins the cluster (claiming partitions) and starts
   * the node's inbox.
   */
  async start(): Promise<void> {
    const node = this.#requireNode();
    if (this.#state !== 'new') throw new Error('the BullMQ transport was started already');
    this.#state = 'starting';
    const settings = this.settings;
    const connections = (this.#connections = openConnections(settings, node.name));
    connections.producer.on('error', (error) => this.#logger.debug({ err: error }, 'producer connection error'));
    connections.worker.on('error', (error) => this.#logger.debug({ err: error }, 'worker connection error'));
    await readyWithin(connections.producer, settings.url, settings.connectTimeoutMs);
    await checkRedisSettings(connections.producer, this.#logger);
    this.#persistence = await checkRedisPersistence(connections.producer, this.#logger, settings.durability);
    const redis = withScripts(connections.producer);
    await checkKeyLayout(redis, this.keys); // layout-1 data here: refused, never an empty start beside it
    const epoch = (this.#epoch = new DatasetEpoch(this.keys.epoch, (partition) => this.keys.partitionEpoch(partition)));
    const opened = await epoch.open(redis);
    this.#logger.info({ dataset: opened.id, created: opened.created, persistence: describePersistence(this.#persistence) }, 'dataset opened');
    this.#store = new RedisStore(redis, { keys: this.keys, handledLimit: settings.handledLimit, epoch });
    this.#workerStore = new RedisStore(connections.worker, { keys: this.keys, handledLimit: settings.handledLimit, epoch });
    this.#relay = new Relay(redis, settings, this.#logger);
    this.#registry = new GlobalRegistry(redis, this.keys, node.name);
    const wake = (this.#wake = new TimerWake({ clock: node.clock, store: this.#store, logger: this.#logger, partitions: () => this.#partitions.runtimes() }));
    this.#stopTimers.push(() => wake.stop());

    this.#inbox = new GuardedWorker(this.keys.nodeQueue(node.name), (job) => this.#processInbox(job), {
      connection: connections.worker,
      prefix: settings.prefix,
      name: node.name,
      concurrency: 1,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      removeOnComplete: { count: 1_000 },
      removeOnFail: settings.removeOnFail,
      telemetry: settings.telemetry,
    });
    this.#inbox.on('error', (error) => this.#logger.debug({ err: error }, 'inbox worker error'));

    const membership = (this.#membership = new Membership({
      name: node.name,
      settings,
      keys: this.keys,
      redis,
      logger: this.#logger,
      info: () => this.#info(),
      eligible: () => this.#partitions.eligible(),
      owned: () => this.#partitions.owned(),
      claimed: (partition) => this.#partitions.claimed(partition),
      release: (partition) => this.#partitions.release(partition),
      lost: (partition) => this.#partitions.lost(partition),
      nodeDown: (name) => this.#nodeDown(name),
    }));
    membership.onReaped = async (name) => {
      await this.#relay!.queue(this.keys.nodeQueue(name)).obliterate({ force: true }).catch(() => undefined);
    };
    await membership.start();
    this.#stopTimers.push(this.#partitions.passivateIdle(this.#passivations), this.#watchHeap(), this.#watch.start());
    this.#state = 'running';
  }

  // ── the dataset ────────────────────────────────────────────────────────────────────────────

  /** Redis' persistence as found at start (`undefined` before). */
  get persistence(): RedisPersistence | undefined {
    return this.#persistence;
  }

  /**
   * Called once if the dataset goes backwards (see {@link DatasetEpoch}), after this transport
   * has stopped taking work and left the cluster. `startBullmqNode` stops the node and calls its
   * `onGiveUp` with the error.
   */
  onRollback(listener: (error: DatasetRolledBackError) => void): void {
    this.#watch.onRollback(listener);
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────────

  send(nodeName: string, envelope: Envelope): void {
    this.#router.toNode(nodeName, envelope);
  }

  routeEntity(_from: TransportEndpoint, envelope: Envelope): void {
    this.#router.toEntity(envelope);
  }

  undeliverable(envelope: Envelope): void {
    this.#router.undeliverable(envelope);
  }

  /** The partition of an entity: by its key's hash (sharded), and by its kind too (distributed). */
  partitionOf(address: EntityAddress): PartitionId {
    return this.#keyPartitions.partitionOf(address);
  }

  // ── scopes and entity state ────────────────────────────────────────────────────────────────

  /** Runs work that is not a partition job (a timer, an inbox delivery) so its effects are committed. */
  ambient(work: () => void): void {
    this.#scopes.ambient(work);
  }

  // ── partitions ─────────────────────────────────────────────────────────────────────────────

  /** What each partition runtime is given: the wiring of the transport's parts. */
  #partitionContext(): PartitionContext {
    return {
      node: this.#requireNode(),
      settings: this.settings,
      logger: this.#logger,
      // Commits go on the workers' connection, so BullMQ's completion of a job follows its commit.
      store: this.#workerStore!,
      relay: this.#relay!,
      cache: this.#cache,
      workerConnection: this.#connections!.worker,
      tracing: this.#tracing,
      inScope: (scope, work) => this.#scopes.inScope(scope, work),
      load: (addresses) => this.#scopes.load(addresses),
      coLocated: (target) => this.#scopes.coLocated(target),
      partitionOf: (address) => this.partitionOf(address),
      deadLetter: (job, reason) => this.#deadLetters.deadLetter(job, reason),
      recordDeadLetter: (job, reason) => this.#deadLetters.record(job, reason),
      refused: (target) => this.#deadLetters.refused(target),
      duplicate: (target, jobId, id) => this.#deadLetters.duplicate(target, jobId, id),
      commitRefused: (result) => this.#deadLetters.commitRefused(result),
      dropProcess: (address) => void this.#node?.entities?.passivate(address),
      running: (address) => this.#node?.entities?.pidOf(address) !== undefined,
      wake: (address) => {
        const node = this.#requireNode();
        this.ambient(() => node.run(() => node.entities?.ensure(address)));
      },
      timersCommitted: (deadline) => this.#wake?.committed(deadline),
      lost: (runtime) => this.#partitions.forget(runtime),
      rolledBack: (error) => this.#watch.rolledBack(error),
    };
  }

  /**
   * Resolves once what this node has changed in memory so far is committed: each partition's job
   * in flight has finished and its commit is answered, then a flush commits what timers and inbox
   * deliveries changed. For tests and tools that act on a node and then read Redis.
   */
  async settled(): Promise<void> {
    await this.#requireNode().settle();
    await this.#partitions.flushed();
  }

  /** The partitions this node consumes now. */
  ownedPartitions(): PartitionId[] {
    return this.#partitions.owned();
  }

  /** Commits an entity's changes and takes it out of memory; its next message brings it back. */
  passivate(address: EntityAddress): Promise<boolean> {
    return this.#partitions.passivate(address);
  }

  /**
   * Memory pressure as well as idleness: over the heap budget, the least recently used idle
   * entities are passivated first (see {@link MemoryPressure}); returns the stop of its checks.
   */
  #watchHeap(): () => void {
    const pressure = new MemoryPressure({
      budget: this.settings.heapBudget,
      residents: () => this.#cache.records(),
      passivate: (address) => this.passivate(address),
      counts: this.#passivations,
      logger: this.#logger,
    });
    return every(systemClock, HEAP_CHECK_MS, () => void pressure.check().catch((error: unknown) => this.#logger.warn({ err: error }, 'heap budget check failed')), { unref: true });
  }

  // ── the node's inbox ───────────────────────────────────────────────────────────────────────

  async #processInbox(job: Job): Promise<void> {
    const checked = checkFetchedJob(job);
    if (!checked.ok) return this.#deadLetters.deadLetter(job, `invalid job: ${checked.problem}`);
    const envelope = checked.envelope;
    const node = this.#requireNode();
    const traced = this.#tracing?.startJob(job.queueName, job.id, envelope, checked.trace);
    if (!traced) {
      if (isEntityAddress(envelope.to)) return void this.routeEntity(node, envelope);
      this.ambient(() => node.deliver(envelope));
      return node.settle();
    }
    const tracing = this.#tracing!;
    try {
      // Sent on, or delivered here: either way as this job's work, so what it causes is in its trace.
      if (isEntityAddress(envelope.to)) tracing.within(traced.context, () => this.routeEntity(node, envelope));
      else {
        tracing.within(traced.context, () => this.ambient(() => node.deliver(envelope)));
        await node.settle();
      }
      traced.end();
    } catch (error) {
      traced.end(error);
      throw error;
    }
  }

  /** Local links and monitors on a dead node's processes get `noconnection`, as in Erlang. */
  #nodeDown(name: string): void {
    const node = this.#node;
    if (!node) return;
    this.#logger.warn({ node: name }, 'node down');
    this.ambient(() => node.nodeDown(name));
  }

  // ── dead letters ───────────────────────────────────────────────────────────────────────────

  /**
   * Messages refused by their target's kind (its `accepts`) and dead-lettered by this node since
   * it started, by kind.
   */
  refusedMessages(): Record<string, number> {
    return this.#deadLetters.refusedMessages();
  }

  /**
   * Jobs skipped since this node started because their target had handled their message id
   * before (each logged at warn with its job id), by kind. Nothing changed for them.
   */
  duplicateMessages(): Record<string, number> {
    return this.#deadLetters.duplicateMessages();
  }

  /** Entities passivated since this node started: idle past `passivateAfterMs`, or for the heap budget. */
  passivations(): PassivationCounts {
    return { ...this.#passivations };
  }

  /** Entities in this node's memory (loaded, whether their process runs or not). */
  get residentEntities(): number {
    return this.#cache.size;
  }

  /** Dead letters, oldest first (`start`/`end` are positions, inclusive). */
  listDeadLetters(start = 0, end = 999): Promise<DeadLetter[]> {
    return this.#deadLetters.list(start, end);
  }

  /** Puts a dead letter back into its queue, with corrected data if given. */
  replayDeadLetter(id: string, options: { data?: unknown } = {}): Promise<ReplayResult> {
    return this.#deadLetters.replay(id, options);
  }

  // ── the cluster ────────────────────────────────────────────────────────────────────────────

  /** Registers a cluster-wide name for a pid (of this node); the name goes when the process exits. */
  registerGlobal(name: string, pid: Pid): Promise<RegisterResult> {
    if (!isPid(pid) || nodeOfPid(pid) !== this.#requireNode().name) {
      return Promise.reject(new TypeError(`registerGlobal: ${String(pid)} is not a pid of node ${this.#node?.name}`));
    }
    return this.#requireRegistry().register(name, pid);
  }

  whereisGlobal(name: string): Promise<Pid | undefined> {
    return this.#requireRegistry().whereis(name);
  }

  unregisterGlobal(name: string): Promise<boolean> {
    return this.#requireRegistry().unregister(name);
  }

  /** The nodes sharing this Redis, with their liveness, as of the last heartbeat (refreshed first when asked). */
  async nodes(options: { refresh?: boolean } = {}): Promise<ClusterNode[]> {
    if (options.refresh) await this.#membership?.beat();
    return this.#membership?.nodes() ?? [];
  }

  #info(): NodeInfo {
    return {
      kinds: this.settings.nodeKinds ?? this.#kinds,
      placement: this.settings.placement,
      startedAt: this.#startedAt,
      host: hostname(),
      pid: process.pid,
      ...(this.#testClock && { clock: 'test' as const }),
    };
  }

  // ── stopping ───────────────────────────────────────────────────────────────────────────────

  async detach(): Promise<void> {
    await this.shutdown();
  }

  /** It is leaving the cluster (or has left): a shutdown began, so its actors stopping is no crash. */
  get leaving(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  /**
   * Leaves the cluster gracefully: stops claiming, lets each partition's job in flight finish (up
   * to `timeoutMs`; an unfinished one returns to its queue when its lock runs out), commits and
   * relays what is pending, releases the leases so others take over at once, and disconnects.
   * Resolves with the partitions whose leases could not be released (Redis away): they expire.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<ShutdownResult> {
    this.#stopping ??= this.#shutdown(options.timeoutMs ?? 10_000);
    return this.#stopping;
  }

  async #shutdown(timeoutMs: number): Promise<ShutdownResult> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#halt.abort();
      return { released: [], unreleased: [] };
    }
    this.#state = 'stopping';
    for (const stop of this.#stopTimers) stop();
    await this.#membership?.stop();
    const ids = await this.#partitions.stopAll(timeoutMs);
    await settledWithin(this.#inbox?.close(), timeoutMs);
    let result: ShutdownResult = { released: ids, unreleased: [] };
    try {
      await this.#membership?.releaseAll(ids);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not release leases: they will expire');
      result = { released: [], unreleased: ids };
    }
    await this.#membership?.leave().catch((error: unknown) => this.#logger.warn({ err: error }, 'could not leave the node list: the others will see this node die'));
    this.#partitions.clear();
    await this.#relay?.close(timeoutMs);
    this.#state = 'stopped';
    this.#halt.abort();
    if (this.#connections) await closeConnections(this.#connections);
    return result;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  #requireNode(): TransportEndpoint {
    if (!this.#node) throw new Error('the BullMQ transport has no node yet: create the node with createNode({ transport })');
    return this.#node;
  }

  #requireStore(): RedisStore {
    if (!this.#store) throw new Error('the BullMQ transport is not started: await transport.start() first');
    return this.#store;
  }

  #requireRelay(): Relay {
    if (!this.#relay) throw new Error('the BullMQ transport is not started: await transport.start() first');
    return this.#relay;
  }

  #requireRegistry(): GlobalRegistry {
    if (!this.#registry) throw new Error('the BullMQ transport is not started: await transport.start() first');
    return this.#registry;
  }

  /** @internal for tests and benchmarks: the RedisStore the transport commits to. */
  get store(): RedisStore {
    return this.#requireStore();
  }

  /** @internal */
  get cachedEntities(): number {
    return this.#cache.size;
  }
}
