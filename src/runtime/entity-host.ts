import { every, systemClock } from './clock.ts';
import { HEAP_CHECK_MS, MemoryPressure, type PassivationCounts, type PressuredEntity } from './memory-pressure.ts';
import type { AnyStateMachine } from 'xstate';
import { checkEntityAddress, entityName, type EntityAddress } from './entity.ts';
import type { Envelope } from './envelope.ts';
import { messageRefusal, stateRefusal, type AcceptedMessages, type StateCheck } from './message-acceptance.ts';
import type { Node } from './node.ts';
import type { EventObject } from 'xstate';
import type { PersistedActorState } from './persisted-state.ts';
import type { Pid } from './pid.ts';
import { StatemProcess, spawnStatem, type RecordAccess } from './statem.ts';
import { supervisor } from './supervisor/api.ts';
import type { ChildSpec } from './supervisor/child-spec.ts';
import { SupervisorProcess, startSupervisor } from './supervisor/supervisor.ts';
import { recordValue, type RecordKeyOf, type RecordKeys } from './record-keys.ts';

declare module './node-entities.ts' {
  /**
   * The node's view of its entities is this host's whole API (registered by the constructor
   * below): the node declares only what it calls itself, and stays below this layer.
   */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface NodeEntities extends EntityHost {}
}

/** A kind of entity a node can host. */
export interface EntityKind {
  /** The `entity` of its addresses, e.g. `Billing`. */
  readonly kind: string;
  readonly machine: AnyStateMachine;
  /** The machine's input for a fresh entity. @default `{ key }` */
  readonly input?: (key: string) => unknown;
  /**
   * The messages it takes from outside (queues, the admin REPL), by type, each with its check
   * (see {@link AcceptedMessages}). A BullMQ partition dead-letters a refused job at once, with the
   * reason, before any entity sees it. @default every message is taken
   */
  readonly accepts?: AcceptedMessages;
  /**
   * Checks a message it takes against the target's current context (see {@link StateCheck}),
   * after `accepts` and before delivery. A BullMQ partition runs it once the target is loaded
   * and dead-letters a refusal with its reason, like an `accepts` refusal. @default none
   */
  readonly checkState?: StateCheck;
  /**
   * Brings a stored state of an older layout to the current one as it is restored, and may move
   * part of it into the entity's journal: the entries returned are appended by the next commit,
   * with the migrated state (counted in its `journalLength`). Until that commit the store keeps
   * the old state, so a migration that does not commit is simply done again. Return `undefined`
   * for a state that needs none. @default none
   */
  readonly migrate?: (
    state: PersistedActorState,
  ) => { state: PersistedActorState; journal?: readonly unknown[]; records?: Readonly<Record<string, unknown>> } | undefined;
  /**
   * The keyed record (`putRecord`) an event needs, e.g. its idempotency key: the runtime hands
   * the record over with the event as `$record` (`null`: none), read from what the entity wrote
   * since its last commit, else from the store (see `RecordAccess`). A list names several (the
   * event id and the idempotency keys it carries): `$record` is then an object of each key's
   * value (`record-keys.ts`). @default none
   */
  readonly recordKey?: RecordKeyOf;
}

/**
 * Watches entities come into memory and handle messages, without taking part: metrics and product
 * telemetry read what changed from the states. It must not throw (a throw is logged and ignored).
 */
export interface EntityObserver {
  /** An entity was spawned: from its last committed state, or fresh (`undefined`). */
  started?(address: EntityAddress, restored: PersistedActorState | undefined): void;
  /**
   * An entity handled a message; `persist` gives the state it would commit. A function, as for
   * `commit`: an observer that cares about one kind persists only that kind, and only when it looks.
   */
  stepped?(address: EntityAddress, persist: () => PersistedActorState): void;
}

export interface EntityHostOptions {
  /** The last committed state of an entity, to bring it back (after passivation, a crash, a move). */
  restore?: (address: EntityAddress) => PersistedActorState | undefined;
  /**
   * An entity's committed keyed record (`undefined`: none), read synchronously: the memory store
   * answers from memory, the BullMQ transport from what it read before the delivery. Throws when
   * the record cannot be read (never answers "none" for a record it does not know).
   * @default none: a kind with a `recordKey` always sees `$record: null` but for its own writes
   */
  records?: (address: EntityAddress, key: string) => unknown;
  /** Restarts one kind's supervisor takes within `period` before it gives up. @default 100 */
  intensity?: number;
  /** @default 5 */
  period?: number;
  /**
   * Called after every message an entity handles, with a function that persists its state as
   * it is when called, with the journal entries appended since the last call (taken by it: call
   * it once per commit). The embedded node persists at once into its memory store (a crash
   * restarts the entity from its last handled message); the BullMQ transport only marks the
   * entity dirty and persists once, at the commit of the job, not after each of its steps.
   */
  commit?: (address: EntityAddress, persist: () => PersistedActorState) => void;
  /** Link the `entities` supervisor to this parent (an application's root supervisor). */
  link?: Pid;
  /** Told of every entity start and step (see {@link EntityObserver}). */
  observe?: EntityObserver;
  /**
   * Idle entities hibernate (see {@link StatemProcess.hibernateIfIdle}): their snapshot leaves
   * memory and comes back from `committed` on their next message. Without it they never do.
   */
  hibernation?: {
    /** The entity's committed state, what its live state is once committed (read on waking only). */
    committed: (address: EntityAddress) => PersistedActorState | undefined;
    /** Whether memory is not ahead of the store for this entity now. @default always */
    isCommitted?: (address: EntityAddress) => boolean;
    /** An entity idle between two sweeps this far apart hibernates. @default 10_000 */
    afterMs?: number;
    /**
     * An entity its commit leaves at rest, with no timer due within `afterMs`, hibernates once
     * the node's turn that committed it is over (see {@link StatemProcess.hibernateAfterCommit})
     * rather than at the sweep: a resident customer's actors then hold no snapshot between its
     * events, at the price of a restore (a `JSON.parse` and XState's `restoreSnapshot`) on their
     * next message. Where the commit is synchronous (no `isCommitted`: the embedded node) the
     * host does it itself; where it lands later (a BullMQ node, whose entities are dirty until
     * their job commits) whoever commits calls {@link EntityHost.hibernateCommitted} once it has.
     * @default false
     */
    afterCommit?: boolean;
  };
  /**
   * Passivates the least recently used entities at rest while the heap is over `budget` bytes
   * (see {@link MemoryPressure}; the budget from `resolveHeapBudget`), for a host whose `restore`
   * gives back every committed state (the embedded node's memory store). An entity passivated
   * with timers pending is brought back when its earliest one falls due, on the node's clock.
   * Without it, only idleness moves entities' snapshots out (hibernation).
   */
  heapBudget?: {
    readonly budget: number;
    /** @default `process.memoryUsage().heapUsed` */
    readonly heapUsed?: () => number;
    /** @default {@link HEAP_CHECK_MS} */
    readonly checkMs?: number;
  };
}

/** @default afterMs of {@link EntityHostOptions.hibernation}. */
export const DEFAULT_HIBERNATE_AFTER_MS = 10_000;

/**
 * Hosts entities on a node: an `entities` supervisor with one `simple_one_for_one` supervisor
 * per kind below it, each entity a transient child registered under {@link entityName}. An entity is spawned on its first message;
 * after a crash its supervisor restarts it from its last committed state (what `restore`
 * returns), never from a half-applied one; passivated, it leaves memory and comes back on demand.
 */
export class EntityHost {
  readonly #node: Node;
  readonly #kinds = new Map<string, EntityKind>();
  readonly #records: EntityHostOptions['records'];
  /** The `entities` supervisor: one child supervisor per kind. */
  readonly supervisor: Pid;

  constructor(node: Node, kinds: readonly EntityKind[], options: EntityHostOptions = {}) {
    this.#node = node;
    for (const kind of kinds) this.#kinds.set(kind.kind, kind);
    this.#records = options.records;
    this.#afterCommit = options.hibernation?.afterCommit === true;
    this.supervisor = startSupervisor(
      node,
      {
        // A kind's supervisor that gives up is restarted alone: Billing's troubles are not Entitlement's.
        strategy: 'one_for_one',
        intensity: 10,
        period: 60,
        // Stryker disable next-line OptionalChaining: equivalent, #afterCommit is true only with a hibernation option
        children: kinds.map((kind) => kindSupervisor(kind, options, this.#afterCommit && options.commit && !options.hibernation?.isCommitted ? this.#committedAtRest : undefined)),
      },
      { name: 'entities', link: options.link },
    );
    node.entities = this;
    this.#isCommitted = options.hibernation?.isCommitted;
    this.#afterMs = options.hibernation?.afterMs ?? DEFAULT_HIBERNATE_AFTER_MS;
    if (options.hibernation) this.#sweepHibernation(options.hibernation.afterMs ?? DEFAULT_HIBERNATE_AFTER_MS);
    if (options.heapBudget) this.#watchHeap(options.heapBudget);
  }

  readonly #afterMs: number;
  readonly #afterCommit: boolean;
  readonly #isCommitted: ((address: EntityAddress) => boolean) | undefined;
  /** Entities committed since the node's current turn began, to hibernate once it is over. */
  #committed: StatemProcess[] = [];

  /**
   * `hibernation.afterCommit`: an entity is hibernated once the node's current turn is over (a
   * microtask), not inside its step. A customer's event runs as one turn on the embedded node: a
   * governor gets its `prepare` and then its `commit` in it, and is restored in between
   * otherwise (a fifth more CPU per event in fleet-memory).
   */
  readonly #committedAtRest = (process: StatemProcess): void => {
    if (this.#committed.push(process) === 1) queueMicrotask(this.#hibernateCommitted);
  };

  readonly #hibernateCommitted = (): void => {
    const processes = this.#committed;
    this.#committed = [];
    for (const process of processes) this.#hibernateAtRest(process);
  };

  /**
   * `hibernation.afterCommit` where the commit lands after the step (a BullMQ node): the entity at
   * `address`, whose state the store has just committed, hibernates if it is at rest with no timer
   * due within `afterMs` (see {@link StatemProcess.hibernateAfterCommit}). Call it once the commit
   * is in and the node's turn is over; without `afterCommit` it does nothing. Returns whether it
   * hibernated.
   */
  hibernateCommitted(address: EntityAddress): boolean {
    if (!this.#afterCommit) return false;
    const process = this.processOf(address);
    return process !== undefined && this.#hibernateAtRest(process);
  }

  #hibernateAtRest(process: StatemProcess): boolean {
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, hibernateAfterCommit refuses a hibernated or dead process itself; this spares asking isCommitted about it
    if (process.hibernated || !process.alive) return false;
    return process.hibernateAfterCommit(this.#isCommitted?.(process.host as EntityAddress) ?? true, this.#afterMs);
  }
  readonly #passivations: PassivationCounts = { idle: 0, memory: 0 };
  #pressure: MemoryPressure | undefined;
  /** Wake-ups of entities passivated with timers pending, by name: one each, the latest. */
  readonly #wakeUps = new Map<string, unknown>();

  /** Entities passivated for the heap budget since this host started (`idle` stays 0: the embedded node has no idle passivation). */
  passivations(): PassivationCounts {
    return { ...this.#passivations };
  }

  /** One heap-budget check now (what runs every `heapBudget.checkMs`); resolves with how many were passivated. */
  checkHeap(): Promise<number> {
    return this.#pressure?.check() ?? Promise.resolve(0);
  }

  #watchHeap(options: NonNullable<EntityHostOptions['heapBudget']>): void {
    const node = this.#node;
    this.#pressure = new MemoryPressure({
      budget: options.budget,
      residents: () => this.#residents(),
      passivate: (address) => this.#passivateForMemory(address),
      counts: this.#passivations,
      logger: node.logger,
      ...(options.heapUsed && { heapUsed: options.heapUsed }),
    });
    const check = () => void this.checkHeap().catch((error: unknown) => node.logger.warn({ err: error }, 'heap budget check failed'));
    // Real time, as the hibernation sweep: memory is the process's concern, whatever the node's clock does.
    const stopChecks = every(systemClock, options.checkMs ?? HEAP_CHECK_MS, check, { unref: true });
    const stop = node.onExit((pid) => {
      if (pid !== this.supervisor) return;
      stopChecks();
      for (const handle of this.#wakeUps.values()) node.clock.clearTimeout(handle);
      this.#wakeUps.clear();
      stop();
    });
  }

  /**
   * The entities in memory, least recently used first as far as the host can tell without a
   * timestamp per actor: hibernated ones (idle for a whole sweep) before the others, each group
   * in the order they were spawned. Only those at rest can go (`dirty` otherwise).
   */
  *#residents(): Iterable<PressuredEntity> {
    for (const process of this.#node.processes()) {
      // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, an actor that is not an entity is never committed by this host, so never at rest and never chosen
      if (!(process instanceof StatemProcess) || process.host === undefined || !process.alive) continue;
      const address = process.host as EntityAddress;
      const dirty = !process.atRest || !(this.#isCommitted?.(address) ?? true);
      yield { address, lastUsed: process.hibernated ? 0 : 1, dirty };
    }
  }

  /** Passivates an entity at rest (its state is the store's already); one with timers is woken by the earliest. */
  #passivateForMemory(address: EntityAddress): boolean {
    const process = this.processOf(address);
    if (!process?.atRest) return false;
    const timers = process.timers();
    this.#node.run(() => this.#node._terminate(process, { shutdown: 'passivated' }));
    if (timers.length > 0) this.#wakeAt(address, Math.min(...timers.map((timer) => timer.deadline)));
    return true;
  }

  /** Brings a passivated entity back at `deadline`, when restoring it fires its timers that fell due. */
  #wakeAt(address: EntityAddress, deadline: number): void {
    const node = this.#node;
    const name = entityName(address);
    // Stryker disable next-line ConditionalExpression: equivalent, clearing no handle does nothing; the test says there may be none
    if (this.#wakeUps.has(name)) node.clock.clearTimeout(this.#wakeUps.get(name));
    const handle = node.clock.setTimeout(
      () => {
        // The one firing is the entity's latest: a wake-up replaced by a later one was cleared.
        this.#wakeUps.delete(name);
        node.run(() => this.ensure(address));
      },
      Math.max(0, deadline - node.clock.now()),
    );
    this.#wakeUps.set(name, handle);
  }

  /**
   * Hibernates the entities idle since the previous call (the first call only marks them): what
   * the sweep does every `hibernation.afterMs`. Returns how many hibernated.
   */
  hibernateIdle(): number {
    let count = 0;
    for (const process of this.#node.processes()) {
      // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, an actor that is not an entity is never committed by this host, so never idle enough to hibernate; the test spares the call
      if (!(process instanceof StatemProcess) || process.host === undefined || process.hibernated) continue;
      const address = process.host as EntityAddress;
      if (process.hibernateIfIdle(this.#isCommitted?.(address) ?? true)) count++;
    }
    return count;
  }

  /** Entities hibernated now (in memory as a process, their snapshot out until next used). */
  hibernatedCount(): number {
    let count = 0;
    for (const process of this.#node.processes()) if (process instanceof StatemProcess && process.hibernated) count++;
    return count;
  }

  #sweepHibernation(afterMs: number): void {
    // Real time, as passivation: idleness is memory's concern, whatever the node's clock does.
    const stopSweep = every(systemClock, afterMs, () => this.hibernateIdle(), { unref: true });
    const stop = this.#node.onExit((pid) => {
      if (pid !== this.supervisor) return;
      stopSweep();
      stop();
    });
  }

  hosts(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  /**
   * Why the entity's kind refuses the message of `envelope` (see {@link EntityKind.accepts}), given
   * the message id it came under if any; `undefined` when it is taken or the kind is not hosted.
   */
  refusal(address: EntityAddress, envelope: Envelope, id?: string): string | undefined {
    const kind = this.#kinds.get(address.entity);
    return kind === undefined ? undefined : messageRefusal(kind.kind, kind.accepts, address, envelope, id, this.#node.clock.now());
  }

  /**
   * Why the entity's kind refuses the message of `envelope` given the entity's context (see
   * {@link EntityKind.checkState}): read from its live process, else from `stored` (its last
   * committed state), else `undefined` (a fresh entity). `undefined` when it is taken.
   */
  stateRefusal(address: EntityAddress, envelope: Envelope, stored?: PersistedActorState): string | undefined {
    const kind = this.#kinds.get(address.entity);
    if (kind?.checkState === undefined) return undefined;
    const live = this.processOf(address);
    const context = live ? live.getState().context : (stored?.snapshot as { context?: unknown } | undefined)?.context;
    // Stryker disable next-line ConditionalExpression: equivalent, stateRefusal asks for the record only of a cast, call or info, which have an event
    const record = () => this.recordFor(address, envelope.t === 'cast' || envelope.t === 'call' || envelope.t === 'info' ? envelope.event : undefined);
    return stateRefusal(kind.kind, kind.checkState, context, address, envelope, record);
  }

  /** Whether entities of `kind` keep keyed records (their kind has a {@link EntityKind.recordKey}). */
  keepsRecords(kind: string): boolean {
    return this.#kinds.get(kind)?.recordKey !== undefined;
  }

  /** The record keys the entity's kind names for `event` (see {@link EntityKind.recordKey}), if any. */
  recordKey(address: EntityAddress, event: EventObject): RecordKeys {
    return this.#kinds.get(address.entity)?.recordKey?.(event);
  }

  /**
   * The record `event` needs (`null`: none; `undefined`: the kind names none): as the live
   * entity would see it, else as committed.
   */
  recordFor(address: EntityAddress, event: EventObject | undefined): unknown {
    const named = event === undefined ? undefined : this.recordKey(address, event);
    if (named === undefined) return undefined;
    const live = this.processOf(address);
    return recordValue(named, (key) => live?.recordOf(key) ?? this.#records?.(address, key));
  }

  /** The entity's pid, spawning or restoring it first when it is not in memory. */
  ensure(address: EntityAddress): Pid | undefined {
    const name = entityName(checkEntityAddress(address));
    const running = this.#node.whereis(name);
    if (running) return running;
    // Stryker disable next-line ConditionalExpression: equivalent, a kind not hosted has no supervisor either; this says so without the lookup
    if (!this.#kinds.has(address.entity)) return undefined;
    const supervisor = this.#node.processOf(this.#node.whereis(kindSupervisorName(address.entity)) as Pid);
    return supervisor instanceof SupervisorProcess ? supervisor.startChildNow([address]) : undefined;
  }

  /** The entity's pid if it is in memory now. */
  pidOf(address: EntityAddress): Pid | undefined {
    return this.#node.whereis(entityName(address));
  }

  /**
   * The live entity's state for a commit, with the journal entries it appended since the last
   * one (taken: see {@link StatemProcess.persistForCommit}); `undefined` when it is not in memory.
   */
  commitState(address: EntityAddress): PersistedActorState | undefined {
    return this.processOf(address)?.persistForCommit();
  }

  /** The process of a live entity (to persist it after a message). */
  processOf(address: EntityAddress): StatemProcess | undefined {
    const pid = this.pidOf(address);
    const process = pid && this.#node.processOf(pid);
    return process instanceof StatemProcess ? process : undefined;
  }

  /**
   * Passivates an entity (gen_statem's `hibernate`, taken further): returns its state for the
   * store and ends the process with `{shutdown: 'passivated'}`, which its supervisor does not restart.
   */
  passivate(address: EntityAddress): PersistedActorState | undefined {
    const process = this.processOf(address);
    if (!process) return undefined;
    const state = process.persistForCommit();
    this.#node.run(() => this.#node._terminate(process, { shutdown: 'passivated' }));
    return state;
  }
}

function kindSupervisorName(kind: string): string {
  return `entities:${kind}`;
}

/**
 * One kind's `simple_one_for_one` supervisor. Its entities are transient: a crash restarts one
 * customer's entity from its last committed state, a passivation (`{shutdown, passivated}`) does
 * not bring it back. One customer's crashes never restart another customer's entity.
 */
function kindSupervisor(kind: EntityKind, options: EntityHostOptions, committedAtRest?: (process: StatemProcess) => void): ChildSpec {
  const commit = options.commit;
  const observe = options.observe;
  const stepped = observe?.stepped;
  // One function for the kind's actors, not a closure per actor (an idle actor's memory): the
  // process carries its address (`host`).
  const committed = options.hibernation?.committed;
  const records = kind.recordKey ? recordAccess(kind.recordKey, options.records) : undefined;
  const rehydrate = committed && ((process: StatemProcess) => committed(process.host as EntityAddress)?.snapshot);
  const afterStep =
    // Stryker disable next-line ConditionalExpression: equivalent, with neither a commit nor an observer the hook would do nothing; leaving it out spares a call per step
    commit || stepped
      ? (process: StatemProcess) => {
          const address = process.host as EntityAddress;
          commit?.(address, () => process.persistForCommit());
          if (stepped) observing(process.node, () => stepped(address, () => process.persist()));
          if (committedAtRest && process.atRest) committedAtRest(process);
        }
      : undefined;
  return supervisor(
    kind.kind,
    {
      strategy: 'simple_one_for_one',
      // Only a storm of crashes across the kind escalates.
      intensity: options.intensity ?? 100,
      period: options.period ?? 5,
      children: [
        {
          id: kind.kind,
          restart: 'transient',
          start: ({ node, supervisor: parent }, address: EntityAddress) => {
            const stored = options.restore?.(address);
            const migrated = stored && kind.migrate ? kind.migrate(stored) : undefined;
            const restore = migrated?.state ?? stored;
            if (observe?.started) observing(node, () => observe.started!(address, restore));
            return spawnStatem(node, kind.machine, {
              link: parent,
              name: entityName(address),
              restore,
              ...(migrated?.journal ? { journal: migrated.journal } : {}),
              ...(migrated?.records ? { pendingRecords: migrated.records } : {}),
              ...(records && { records }),
              input: restore ? undefined : (kind.input?.(address.key) ?? { key: address.key }),
              afterStep,
              host: address,
              ...(rehydrate && { rehydrate }),
            });
          },
        },
      ],
    },
    { name: kindSupervisorName(kind.kind) },
  );
}

/** One access for a kind's actors, not one per actor: the process carries its address (`host`). */
function recordAccess(keyOf: RecordKeyOf, records: EntityHostOptions['records']): RecordAccess {
  return { keyOf, lookup: (key, process) => records?.(process.host as EntityAddress, key) };
}

/** An observer's failure is its own: logged, never the entity's crash. */
function observing(node: Node, notify: () => void): void {
  try {
    notify();
  } catch (error) {
    node.logger.error({ err: error }, 'entity observer failed');
  }
}
