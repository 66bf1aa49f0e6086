import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { pino, type Logger } from 'pino';
import { systemClock, TestClock, type Clock } from '../../runtime/clock.ts';
import { entityName, isEntityAddress, type EntityAddress } from '../../runtime/entity.ts';
import type { EntityHostOptions } from '../../runtime/entity-host.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import { isCleanExit } from '../../runtime/exit-reason.ts';
import { Node } from '../../runtime/node.ts';
import type { PersistedActorState } from '../../runtime/persisted-state.ts';
import { isPid, nodeOfPid, type Pid } from '../../runtime/pid.ts';
import { DatasetEpoch } from '../../store/dataset-epoch.ts';
import type { DatasetRolledBackError } from '../../store/redis-errors.ts';
import { RedisKeys, type PartitionId } from '../../store/redis-keys.ts';
import { withScripts } from '../../store/redis-scripts.ts';
import { RedisStore } from '../../store/redis-store.ts';
import type { Transport, TransportEndpoint } from '../transport.ts';
import { checkRedisSettings, closeConnections, openConnections, ready, type Connections } from './connections.ts';
import { addDeadLetter, listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayResult } from './dead-letters.ts';
import { EntityCache } from './entity-cache.ts';
import { knownRecord, postponedRecords, readRecordsInto } from './record-lookup.ts';
import { checkFetchedJob, GuardedWorker } from './guarded-worker.ts';
import { KeyPartitions } from './key-partitions.ts';
import { Membership, type ClusterNode, type NodeInfo } from './membership.ts';
import { resolveSettings, type BullmqTransportOptions, type TransportSettings } from './options.ts';
import { checkRedisPersistence, describePersistence, type RedisPersistence } from './redis-persistence.ts';
import { PartitionRuntime, type PartitionContext } from './partition.ts';
import { GlobalRegistry, type RegisterResult } from './registry.ts';
import { Relay, sleep, type OutgoingJob } from './relay.ts';
import { TimerWake } from './timer-wake.ts';
import { ambientScope, MessageIds, type AmbientScope, type Scope } from './scope.ts';

/** Tries at recording a halt (100 ms, then doubling: about 6 s in all) before saying it could not. */
const HALT_ATTEMPTS = 7;

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
 */
export class BullmqTransport implements Transport {
  readonly kind = 'bullmq';
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  readonly #cache = new EntityCache();
  /** Messages refused by their kind and dead-lettered, by kind (see {@link BullmqTransport.refusedMessages}). */
  readonly #refused = new Map<string, number>();
  /** Jobs skipped because their message id was handled before, by kind (see {@link BullmqTransport.duplicateMessages}). */
  readonly #duplicates = new Map<string, number>();
  readonly #ids = new MessageIds();
  readonly #partitions = new Map<PartitionId, PartitionRuntime>();
  readonly #options: BullmqTransportOptions;
  readonly #keyPartitions: KeyPartitions;
  #node: Node | undefined;
  #logger: Logger;
  #connections: Connections | undefined;
  #store: RedisStore | undefined;
  #workerStore: RedisStore | undefined;
  #relay: Relay | undefined;
  #membership: Membership | undefined;
  #registry: GlobalRegistry | undefined;
  #inbox: Worker | undefined;
  #scope: Scope | undefined;
  #epoch: DatasetEpoch | undefined;
  #persistence: RedisPersistence | undefined;
  #rolledBack: DatasetRolledBackError | undefined;
  /** The rollback listeners have been called: a later one is called at once. */
  #rollbackDone = false;
  readonly #rollbackListeners: ((error: DatasetRolledBackError) => void)[] = [];
  #kinds: readonly string[] = [];
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<ShutdownResult> | undefined;
  readonly #stopTimers: (() => void)[] = [];
  #wake: TimerWake | undefined;
  readonly #startedAt = Date.now();
  /** The node runs on a test clock (GOVERNOR_TEST_CLOCK): its heartbeat says so, for nodes(). */
  #testClock = false;

  constructor(options: BullmqTransportOptions = {}) {
    this.#options = options;
    this.settings = resolveSettings(options);
    this.keys = new RedisKeys(this.settings.prefix);
    this.#keyPartitions = new KeyPartitions(this.settings.partitions, this.settings.placement);
    this.#logger = options.logger ?? pino({ level: 'silent' });
  }

  // ── wiring ─────────────────────────────────────────────────────────────────────────────────

  attach(endpoint: TransportEndpoint): void {
    if (!(endpoint instanceof Node)) throw new TypeError('the BullMQ transport runs one Governor Node: create it with createNode({ transport })');
    if (this.#node) throw new Error(`this BullMQ transport already serves node "${this.#node.name}": create one transport per node`);
    this.#node = endpoint;
    this.#logger = this.#options.logger ?? endpoint.logger;
    endpoint.onExit((pid, reason, process) => {
      // An entity that exits abnormally while a message is handled crashed on it (as its
      // supervisor sees it): memory goes back to the last commit and the message is retried.
      const scope = this.#scope;
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

  /** Options for the node's `EntityHost`: restore from the committed state, record every step. */
  entityHostOptions(kinds: readonly { kind: string }[]): EntityHostOptions {
    this.#kinds = kinds.map((k) => k.kind);
    return {
      restore: (address) => this.#restore(address),
      records: (address, key) => knownRecord(this.#cache, this.#scope, address, key),
      commit: (address, persist) => this.#stepped(address, persist),
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
    await ready(connections.producer);
    await checkRedisSettings(connections.producer, this.#logger);
    this.#persistence = await checkRedisPersistence(connections.producer, this.#logger, settings.durability);
    const redis = withScripts(connections.producer);
    const epoch = (this.#epoch = new DatasetEpoch(this.keys.epoch));
    const opened = await epoch.open(redis);
    this.#logger.info({ dataset: opened.id, seq: opened.seq, created: opened.created, persistence: describePersistence(this.#persistence) }, 'dataset opened');
    this.#store = new RedisStore(redis, { prefix: settings.prefix, handledLimit: settings.handledLimit, epoch });
    this.#workerStore = new RedisStore(connections.worker, { prefix: settings.prefix, handledLimit: settings.handledLimit, epoch });
    this.#relay = new Relay(redis, settings, this.#logger);
    this.#registry = new GlobalRegistry(redis, this.keys, node.name);
    const wake = (this.#wake = new TimerWake({ clock: node.clock, store: this.#store, logger: this.#logger, partitions: () => this.#partitions.values() }));
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
      eligible: () => this.#eligible(),
      owned: () => [...this.#partitions.keys()],
      claimed: (partition) => this.#claimed(partition),
      release: (partition) => this.#releasePartition(partition),
      lost: (partition) => void this.#partitions.get(partition)?.stop({ graceful: false, timeoutMs: 0 }).then(() => this.#partitions.delete(partition)),
      nodeDown: (name) => this.#nodeDown(name),
    }));
    membership.onReaped = async (name) => {
      await this.#relay!.queue(this.keys.nodeQueue(name)).obliterate({ force: true }).catch(() => undefined);
    };
    await membership.start();
    this.#passivationTimer();
    this.#epochWatch();
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
    if (this.#rolledBack && this.#rollbackDone) listener(this.#rolledBack);
    else this.#rollbackListeners.push(listener);
  }

  /** Reads the sentinel at every heartbeat, so a node with nothing to commit finds a loss too. */
  #epochWatch(): void {
    let checking = false;
    const timer = setInterval(() => {
      const epoch = this.#epoch;
      const redis = this.#connections?.producer;
      if (checking || !epoch || !redis || this.#state !== 'running') return;
      checking = true;
      epoch
        .check(redis)
        .then(
          (error) => error && this.#datasetRolledBack(error),
          (error: unknown) => this.#logger.debug({ err: error }, 'could not read the dataset sentinel'),
        )
        .finally(() => (checking = false));
    }, this.settings.heartbeatMs);
    timer.unref();
    this.#stopTimers.push(() => clearInterval(timer));
  }

  /**
   * The dataset went backwards: says so, halts the dataset for every node (the first finder's
   * record stays), stops taking work and leaves; nothing more is committed from here.
   */
  #datasetRolledBack(error: DatasetRolledBackError): void {
    if (this.#rolledBack) return;
    this.#rolledBack = error;
    const node = this.#requireNode();
    this.#logger.error({ code: error.code, key: error.key, seen: error.seen, found: error.found }, error.message);
    void (async () => {
      const redis = this.#connections?.producer;
      // Found right after Redis came back, the connection may still be reconnecting: the halt is
      // what stops the other nodes (whose marks may be lower), so it is tried again for a while.
      for (let attempt = 0, delayMs = 100; redis && this.#epoch && attempt < HALT_ATTEMPTS; attempt++, delayMs *= 2) {
        try {
          await this.#epoch.halt(redis, error, node.name, node.clock.now());
          break;
        } catch (cause) {
          const last = attempt === HALT_ATTEMPTS - 1;
          this.#logger[last ? 'error' : 'warn']({ err: cause, attempt: attempt + 1 }, last ? 'could not record the halt in Redis: halt the dataset by hand before restarting nodes' : 'could not record the halt in Redis yet');
          if (!last) await new Promise<void>((resolve) => node.clock.setTimeout(resolve, delayMs));
        }
      }
      await this.shutdown({ timeoutMs: 0 }).catch((cause: unknown) => this.#logger.error({ err: cause }, 'leaving the cluster failed: the leases will expire'));
      this.#rollbackDone = true;
      for (const listener of this.#rollbackListeners.splice(0)) listener(error);
    })();
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────────

  send(nodeName: string, envelope: Envelope): void {
    if (this.#membership?.isDead(nodeName)) return this.#bounce(envelope);
    this.#emit({ queue: this.keys.nodeQueue(nodeName), id: this.#messageId(), env: envelope });
  }

  routeEntity(_from: TransportEndpoint, envelope: Envelope): void {
    const target = envelope.to as EntityAddress;
    const partition = this.partitionOf(target);
    const scope = this.#scope;
    if (this.settings.placement === 'sharded' && scope && this.#node?.entities?.hosts(target.entity)) {
      // Co-located: one customer's actors talk in memory, and their changes commit together.
      const local = scope.kind === 'job' ? scope.partition === partition : this.#senderPartition(envelope) === partition;
      if (local && this.#partitions.get(partition)?.active) {
        if (this.#cache.has(target)) return this.#node.deliver(envelope);
        if (scope.kind === 'job') {
          scope.missing.push(target);
          return;
        }
      }
    }
    this.#emit({ queue: this.keys.partitionQueue(partition), id: this.#messageId(), env: envelope });
  }

  /** The job (or timer flush) fails as a crash would: it is re-run, then given back or dead-lettered. */
  undeliverable(envelope: Envelope): void {
    const target = envelope.to as EntityAddress;
    const reason = `noproc: ${target.entity}/${target.key} could not be started (its supervisor is down)`;
    if (this.#scope) this.#scope.crashes.push(reason);
    else this.#logger.error({ entity: entityName(target) }, `a message was dropped: ${reason}`);
  }

  /**
   * Where a message goes: into the handled job's pending outbox (committed with its effects),
   * into the current ambient scope, or, outside any scope, straight into Redis.
   */
  #emit(job: OutgoingJob): void {
    const scope = this.#scope;
    if (scope?.kind === 'job') {
      // No runtime: the partition was lost mid-job; the job runs again on its next owner, so
      // what it sends here must not leave.
      return void this.#partitions.get(scope.partition)?.pending.push(job);
    } else if (scope) {
      return void scope.outbox.push(job);
    }
    this.#relay?.push([job]);
  }

  #messageId(): string {
    const scope = this.#scope;
    return scope?.kind === 'job' ? this.#ids.child(scope) : this.#ids.fresh();
  }

  /** What a sender hears when the target node is known dead, as Erlang does for a lost node. */
  #bounce(envelope: Envelope): void {
    const node = this.#node;
    if (!node) return;
    if (envelope.t === 'monitor') {
      node.deliver({ t: 'down', to: envelope.from, ref: envelope.ref, pid: envelope.to as Pid, reason: 'noconnection' });
    } else if (envelope.t === 'link') {
      node.deliver({ t: 'exit', to: envelope.from, from: envelope.to, reason: 'noconnection', linked: true });
    }
  }

  /** The partition of the entity sending `envelope`, if an entity sends it. */
  #senderPartition(envelope: Envelope): PartitionId | undefined {
    if ((envelope.t !== 'cast' && envelope.t !== 'info') || envelope.from === undefined) return undefined;
    const name = this.#node?.processOf(envelope.from)?.name;
    if (!name?.startsWith('entity:')) return undefined;
    const slash = name.indexOf('/');
    return this.partitionOf({ entity: name.slice('entity:'.length, slash), key: name.slice(slash + 1) });
  }

  /** The partition of an entity: by its key's hash (sharded), and by its kind too (distributed). */
  partitionOf(address: EntityAddress): PartitionId {
    return this.#keyPartitions.partitionOf(address);
  }

  // ── scopes and entity state ────────────────────────────────────────────────────────────────

  #inScope(scope: Scope, work: () => void): void {
    const outer = this.#scope;
    this.#scope = scope;
    try {
      work();
    } finally {
      this.#scope = outer;
    }
  }

  /** Runs work that is not a partition job (a timer, an inbox delivery) so its effects are committed. */
  ambient(work: () => void): void {
    if (this.#scope) return work();
    const scope = ambientScope();
    try {
      this.#inScope(scope, work);
    } finally {
      this.#endAmbient(scope);
    }
  }

  #endAmbient(scope: AmbientScope): void {
    if (scope.crashes.length > 0) {
      // An entity crashed half-way: it restarted from its last commit; so do the others touched.
      for (const partition of scope.partitions) this.#partitions.get(partition)?.reset();
      return;
    }
    if (scope.outbox.length === 0) return;
    const first = scope.partitions[0] === undefined ? undefined : this.#partitions.get(scope.partitions[0]);
    if (first) {
      first.pending.push(...scope.outbox);
      first.scheduleFlush();
    } else {
      this.#relay?.push(scope.outbox);
    }
  }

  #restore(address: EntityAddress): PersistedActorState | undefined {
    const record = this.#cache.get(address);
    if (!record) {
      const scope = this.#scope;
      if (scope?.kind === 'job') scope.missing.push(address);
      else this.#logger.error({ entity: entityName(address) }, 'an entity was started without being loaded: it starts fresh');
      return undefined;
    }
    record.latest = undefined; // persist the live process at commit: restoring may fire due timers
    this.#touch(record);
    return record.state;
  }

  #stepped(address: EntityAddress, persist: () => PersistedActorState): void {
    const record = this.#cache.get(address);
    if (!record) return;
    // Persisted at the commit: a job steps an entity several times, and only its last state is stored.
    record.latest = persist;
    this.#touch(record);
  }

  #touch(record: ReturnType<EntityCache['add']>): void {
    record.steps++;
    record.lastUsed = systemClock.now(); // idleness is real time: see #passivationTimer
    const runtime = this.#partitions.get(record.partition);
    if (!runtime) return;
    const scope = this.#scope;
    if (scope?.kind === 'ambient' && !scope.partitions.includes(record.partition)) scope.partitions.push(record.partition);
    runtime.markDirty(record, scope?.kind === 'job' && scope.partition === record.partition);
  }

  /** Loads the entities not in the cache; `undefined` (no promise) when all are there, the usual case. */
  #load(addresses: readonly EntityAddress[]): Promise<void> | undefined {
    const missing = addresses.filter((address) => !this.#cache.has(address));
    return missing.length === 0 ? undefined : this.#loadMissing(missing);
  }

  async #loadMissing(missing: readonly EntityAddress[]): Promise<void> {
    const stored = await this.#workerStore!.loadMany(missing);
    const now = systemClock.now(); // lastUsed: idleness is real time, see #passivationTimer
    missing.forEach((address, i) => {
      if (this.#cache.has(address)) return;
      const keys = { stateKey: this.keys.state(address), handledKey: this.keys.handled(address) };
      this.#cache.add(address, this.partitionOf(address), keys, stored[i]?.version ?? 0, stored[i]?.state, now);
    });
    // Postponed events look their records up when taken again, maybe outside any job: read now.
    const requests = missing.flatMap((address, i) => postponedRecords(this.#node?.entities, address, stored[i]?.state.postponed));
    await readRecordsInto(this.#workerStore!, this.#cache, requests);
  }

  #coLocated(target: EntityAddress): EntityAddress[] {
    if (this.settings.placement !== 'sharded' || this.#kinds.length === 0) return [target];
    return this.#kinds.map((kind) => (kind === target.entity ? target : { entity: kind, key: target.key }));
  }

  #dropProcess(address: EntityAddress): void {
    this.#node?.entities?.passivate(address);
  }

  // ── partitions ─────────────────────────────────────────────────────────────────────────────

  #eligible(): Map<string, PartitionId[]> {
    const count = this.settings.partitions;
    const indexes = Array.from({ length: count }, (_, i) => i);
    if (this.settings.placement === 'sharded') return new Map([['*', indexes.map(String)]]);
    const kinds = this.settings.nodeKinds ?? this.#kinds;
    return new Map(kinds.map((kind) => [kind, indexes.map((i) => `${kind}.${i}`)]));
  }

  async #claimed(partition: PartitionId): Promise<void> {
    const previous = this.#partitions.get(partition);
    if (previous && !previous.stopping) return;
    // Claimed again while its last run here is still stopping (lost, then free again): let it end first.
    if (previous) await previous.stop({ graceful: false, timeoutMs: 0 });
    const runtime = new PartitionRuntime(this.#partitionContext(), partition, this.keys.partitionQueue(partition));
    this.#partitions.set(partition, runtime);
    this.#logger.info({ partition }, 'partition claimed');
    // The beat waits for the first attempt only: it must go on renewing the lease meanwhile.
    if (!(await this.#tryStart(runtime, 1))) void this.#keepStarting(runtime);
  }

  async #tryStart(runtime: PartitionRuntime, attempt: number): Promise<boolean> {
    try {
      await runtime.start();
      // Its entities at rest may have timers due (a node that held it died or left): look now.
      this.#wake?.look();
      return true;
    } catch (error) {
      if (!this.#mayStart(runtime)) this.#logger.info({ err: error, partition: runtime.id }, 'a partition start ended: this node no longer holds it');
      else this.#logger.error({ err: error, partition: runtime.id, attempt }, 'could not start a claimed partition; retrying while its lease is held');
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
    for (let attempt = 2, backoff = 100; ; attempt++, backoff = Math.min(backoff * 2, 2_000)) {
      await sleep(backoff);
      if (!this.#mayStart(runtime)) break;
      if (await this.#tryStart(runtime, attempt)) return;
      if (!this.#mayStart(runtime)) break;
    }
    if (this.#partitions.get(runtime.id) === runtime) this.#partitions.delete(runtime.id);
    await runtime.stop({ graceful: false, timeoutMs: 0 });
  }

  #mayStart(runtime: PartitionRuntime): boolean {
    return !runtime.stopping && this.#partitions.get(runtime.id) === runtime && (this.#state === 'starting' || this.#state === 'running');
  }

  async #releasePartition(partition: PartitionId): Promise<void> {
    const runtime = this.#partitions.get(partition);
    if (!runtime) return;
    await runtime.stop({ graceful: true, timeoutMs: this.settings.lockDurationMs });
    this.#partitions.delete(partition);
    this.#logger.info({ partition }, 'partition released');
  }

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
      inScope: (scope, work) => this.#inScope(scope, work),
      load: (addresses) => this.#load(addresses),
      coLocated: (target) => this.#coLocated(target),
      partitionOf: (address) => this.partitionOf(address),
      deadLetter: (job, reason) => this.#deadLetter(job, reason),
      refused: (target) => void this.#refused.set(target.entity, (this.#refused.get(target.entity) ?? 0) + 1),
      duplicate: (target, jobId, id) => {
        this.#duplicates.set(target.entity, (this.#duplicates.get(target.entity) ?? 0) + 1);
        this.#logger.warn({ jobId, messageId: id, entity: target.entity, key: target.key }, 'skipped a job whose message id was handled before: nothing changed');
      },
      dropProcess: (address) => this.#dropProcess(address),
      running: (address) => this.#node?.entities?.pidOf(address) !== undefined,
      wake: (address) => {
        const node = this.#requireNode();
        this.ambient(() => node.run(() => node.entities?.ensure(address)));
      },
      timersCommitted: (deadline) => this.#wake?.committed(deadline),
      lost: (runtime) => {
        if (this.#partitions.get(runtime.id) === runtime) this.#partitions.delete(runtime.id);
      },
      rolledBack: (error) => this.#datasetRolledBack(error),
    };
  }

  /**
   * Resolves once what this node has changed in memory so far is committed: each partition's job
   * in flight has finished and its commit is answered, then a flush commits what timers and inbox
   * deliveries changed. For tests and tools that act on a node and then read Redis.
   */
  async settled(): Promise<void> {
    await this.#requireNode().settle();
    await Promise.all([...this.#partitions.values()].map((runtime) => runtime.exclusive(() => runtime.flush())));
  }

  /** The partitions this node consumes now. */
  ownedPartitions(): PartitionId[] {
    return [...this.#partitions.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /** Commits an entity's changes and takes it out of memory; its next message brings it back. */
  async passivate(address: EntityAddress): Promise<boolean> {
    const runtime = this.#partitions.get(this.partitionOf(address));
    return runtime ? runtime.passivate(address) : false;
  }

  #passivationTimer(): void {
    const every = Math.max(1_000, Math.round(this.settings.passivateAfterMs / 2));
    const timer = setInterval(() => {
      // Idleness is memory's concern, so it is measured in real time; timers are the node's. On a
      // clock that jumps (GOVERNOR_TEST_CLOCK, days at a time) node time would make every entity
      // idle at once. A passivated entity's timers are not lost: the timer index wakes it.
      const before = systemClock.now() - this.settings.passivateAfterMs;
      for (const runtime of this.#partitions.values()) void runtime.passivateIdle(before).catch(() => undefined);
    }, every);
    timer.unref();
    this.#stopTimers.push(() => clearInterval(timer));
  }

  // ── the node's inbox ───────────────────────────────────────────────────────────────────────

  async #processInbox(job: Job): Promise<void> {
    const checked = checkFetchedJob(job);
    if (!checked.ok) return this.#deadLetter(job, `invalid job: ${checked.problem}`);
    const envelope = checked.envelope;
    const node = this.#requireNode();
    if (isEntityAddress(envelope.to)) return void this.routeEntity(node, envelope);
    this.ambient(() => node.deliver(envelope));
    await node.settle();
  }

  /** Local links and monitors on a dead node's processes get `noconnection`, as in Erlang. */
  #nodeDown(name: string): void {
    const node = this.#node;
    if (!node) return;
    this.#logger.warn({ node: name }, 'node down');
    this.ambient(() => {
      for (const process of [...node.processes()]) {
        for (const linked of process.links ?? []) {
          if (nodeOfPid(linked) === name) node.deliver({ t: 'exit', to: process.pid, from: linked, reason: 'noconnection', linked: true });
        }
        for (const [ref, target] of process.monitoring ?? []) {
          if (nodeOfPid(target) === name) node.deliver({ t: 'down', to: process.pid, ref, pid: target, reason: 'noconnection' });
        }
      }
    });
  }

  // ── dead letters ───────────────────────────────────────────────────────────────────────────

  /**
   * Messages refused by their target's kind (its `accepts`) and dead-lettered by this node since
   * it started, by kind.
   */
  refusedMessages(): Record<string, number> {
    return Object.fromEntries(this.#refused);
  }

  /**
   * Jobs skipped since this node started because their target had handled their message id
   * before (each logged at warn with its job id), by kind. Nothing changed for them.
   */
  duplicateMessages(): Record<string, number> {
    return Object.fromEntries(this.#duplicates);
  }

  async #deadLetter(job: Job, reason: string): Promise<void> {
    const node = this.#requireNode();
    this.#logger.warn({ queue: job.queueName, jobId: job.id, reason }, 'dead-lettered');
    for (let backoff = 50; ; backoff = Math.min(backoff * 2, 1_000)) {
      try {
        return await addDeadLetter(this.#relay!.queue(this.keys.deadLetterQueue), job, reason, node.name, node.clock.now());
      } catch (error) {
        if (this.#state === 'stopped') throw error;
        this.#logger.warn({ err: error }, 'dead-lettering failed; retrying');
        await sleep(backoff);
      }
    }
  }

  /** Dead letters, oldest first (`start`/`end` are positions, inclusive). */
  listDeadLetters(start = 0, end = 999): Promise<DeadLetter[]> {
    return listDeadLetters(this.#requireRelay().queue(this.keys.deadLetterQueue), start, end);
  }

  /** Puts a dead letter back into its queue, with corrected data if given. */
  replayDeadLetter(id: string, options: { data?: unknown } = {}): Promise<ReplayResult> {
    const relay = this.#requireRelay();
    return replayDeadLetter(relay.queue(this.keys.deadLetterQueue), (name) => relay.queue(name), id, options);
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
      return { released: [], unreleased: [] };
    }
    this.#state = 'stopping';
    for (const stop of this.#stopTimers) stop();
    await this.#membership?.stop();
    const partitions = [...this.#partitions.values()];
    await Promise.all(partitions.map((runtime) => runtime.stop({ graceful: true, timeoutMs })));
    await Promise.race([this.#inbox?.close(), sleep(timeoutMs)]);
    const ids = partitions.map((runtime) => runtime.id);
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
    if (this.#connections) await closeConnections(this.#connections);
    return result;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  #requireNode(): Node {
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
