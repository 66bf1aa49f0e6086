import { randomBytes } from 'node:crypto';
import { EntityHost, type EntityHostOptions } from '../src/runtime/entity-host.ts';
import { resolveHeapBudget } from '../src/runtime/heap-budget.ts';
import type { EntityAddress } from '../src/runtime/entity.ts';
import { InvalidMessageError } from '../src/runtime/message-acceptance.ts';
import type { PersistedActorState } from '../src/runtime/persisted-state.ts';
import type { Node } from '../src/runtime/node.ts';
import type { Pid } from '../src/runtime/pid.ts';
import { startSupervisor } from '../src/runtime/supervisor/supervisor.ts';
import { MemoryStore } from '../src/store/memory-store.ts';
import type { ChildSpec } from '../src/runtime/supervisor/child-spec.ts';
import { GOVERNORS, type LifecycleEvent } from '../machines/governor-protocol.ts';
import { marketplaceKinds, type MarketplaceMachineOptions } from '../machines/index.ts';
import { verifyReceipts } from '../machines/receipts.ts';
import type { Outcome } from '../machines/orchestrator.ts';

/**
 * The marketplace application's supervision tree:
 *
 *   marketplace                       one_for_one, 3 restarts in 60 s
 *   └── entities                      one_for_one, 10 in 60 s           (EntityHost)
 *       ├── entities:Orchestrator     simple_one_for_one, 100 in 5 s
 *       │   └── entity:Orchestrator/<customer>   transient
 *       ├── entities:Entitlement … entities:MultiTenant (one per governor)
 *       └── entities:Receipts
 *
 * Why each level is what it is:
 * - **Entity** (transient child of its kind's `simple_one_for_one`): a crashed actor is one
 *   customer's one governor; it restarts alone, from its last persisted state (never a
 *   half-applied one), so a crashed Billing actor of one customer never restarts another
 *   customer's, nor that customer's Entitlement. Transient, because passivation ends an entity
 *   with `{shutdown, passivated}` and that must not bring it back.
 * - **Kind** (`one_for_one` under `entities`): a kind whose actors crash faster than 100 in 5 s
 *   has a bug of its own; its supervisor gives up and is restarted alone, empty — its entities
 *   come back on demand from the store — while the other kinds keep running. The orchestrators'
 *   calls to it time out meanwhile, which rejects and compensates those events: all or nothing
 *   holds through it. `one_for_all` would turn one kind's bug into an outage of every kind.
 * - **Root** (`one_for_one`, 3 in 60 s): the `entities` supervisor giving up means kinds keep
 *   failing after restarts; a few more tries, then the root gives up too and the node's
 *   application stops rather than spin. Its place is also where siblings go (transport workers,
 *   a chain-head signer), none of which should restart when entities do.
 */

export interface MarketplaceOptions extends Partial<MarketplaceMachineOptions> {
  /** Where entity states are persisted between events. @default a new MemoryStore */
  readonly store?: MemoryStore;
  /** Passed to the EntityHost (kind supervisors' intensity and period, an observer for telemetry). */
  readonly entities?: Pick<EntityHostOptions, 'intensity' | 'period' | 'observe'>;
  /**
   * The heap (MiB) above which the node passivates its least recently used entities at rest
   * (README, Memory). @default `GOVERNOR_HEAP_BUDGET_MB`, else 60 % of V8's heap limit
   */
  readonly heapBudgetMb?: number;
  /** The heap the budget is held against (tests). @default `process.memoryUsage().heapUsed` */
  readonly heapUsed?: () => number;
  /** Timeout of `submit`'s call to the orchestrator. @default 60 s */
  readonly submitTimeoutMs?: number;
}

/** What a running marketplace gives its caller (tests, the CLI, the benchmark). */
export interface Marketplace {
  readonly root: Pid;
  readonly store: MemoryStore;
  /** The EntityHost now running (a new one after the `entities` supervisor restarts). */
  host(): EntityHost;
  /**
   * Hands a lifecycle event to its customer's orchestrator and resolves with the outcome; then
   * persists that customer's actors (the sharded placement's one write per event, SPEC §3). An
   * event the orchestrator's kind refuses (invalid, or for another customer) rejects with an
   * `InvalidMessageError` and changes nothing, as a queue dead-letters it.
   */
  submit(event: LifecycleEvent): Promise<Outcome>;
  /** Persists the live actors of one customer, or of everyone (after timers fired). */
  persist(customerId?: string): void;
  /** A live or persisted actor's state value and context. */
  stateOf(kind: string, customerId: string): { value: unknown; context: unknown } | undefined;
  /**
   * The customer's receipts, read from the store's journal, verified against the log the
   * Receipts actor has (its size, Merkle root and first receipt).
   */
  verifyReceipts(customerId: string): Promise<{ ok: boolean; length?: number; [key: string]: unknown }>;
  stop(): Promise<void>;
}

const ENTITY_KINDS = ['Orchestrator', ...GOVERNORS, 'Receipts'] as const;

/**
 * Starts the marketplace on `node`: the root supervisor, the entity host under it, and a store the
 * entities are restored from after a crash or passivation.
 *
 * @example
 * const clock = new SimulatedClock();
 * const node = createNode({ clock });
 * const market = startMarketplace(node, { pseudonymKey: 'a key of sixteen+ bytes' });
 * await market.submit({ eventId: 'e1', customerId: 'c1', occurredAt, type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' });
 */
export function startMarketplace(node: Node, options: MarketplaceOptions = {}): Marketplace {
  const store = options.store ?? new MemoryStore();
  // Without a configured key, pseudonyms are stable for this node's lifetime only: the chain
  // still verifies, but receipts cannot be linked to a customer after a restart (safe default).
  const pseudonymKey = options.pseudonymKey ?? randomBytes(32);
  const kinds = marketplaceKinds({ ...options, pseudonymKey });
  const restore = (address: EntityAddress) => store.get(address)?.state;
  const commit = (address: EntityAddress, persist: () => PersistedActorState) => store.set(address, persist());
  // Keyed records (handled events, committed replies) live beside the states, read by key.
  const records = (address: EntityAddress, key: string) => store.record(address, key);
  // Resolved at start: a bad budget is refused before anything runs, naming where it came from.
  const heapBudget = {
    budget: resolveHeapBudget(options.heapBudgetMb, process.env, 'marketplace option heapBudgetMb'),
    ...(options.heapUsed && { heapUsed: options.heapUsed }),
  };

  const entities: ChildSpec = {
    id: 'entities',
    type: 'supervisor',
    restart: 'permanent',
    shutdown: 'infinity',
    // Every actor commits after each message it handles: a crash, even right after a timer fired,
    // restarts it from its last handled message, never from an older state.
    start: ({ node: at, supervisor }) => new EntityHost(at, kinds, { ...options.entities, restore, records, commit, link: supervisor, hibernation: { committed: restore, afterCommit: true }, heapBudget }).supervisor,
  };
  const root = startSupervisor(node, { strategy: 'one_for_one', intensity: 3, period: 60, children: [entities] }, { name: 'marketplace' });

  const host = () => {
    if (!node.entities) throw new Error('the marketplace is not running: its entity host is gone');
    return node.entities;
  };
  const save = (address: EntityAddress) => {
    const process = host().processOf(address);
    // At rest, its last step is committed already: saving again would write the same state (and
    // wake a hibernated actor to persist it).
    if (!process || process.atRest) return;
    store.put(address, process.persistForCommit(), store.versionOf(address));
  };
  const persist = (customerId?: string) => {
    if (customerId !== undefined) {
      for (const kind of ENTITY_KINDS) save({ entity: kind, key: customerId });
      return;
    }
    for (const name of node.registered()) {
      const match = /^entity:([^/]+)\/(.+)$/s.exec(name);
      if (match) save({ entity: match[1]!, key: match[2]! });
    }
  };

  return {
    root,
    store,
    host,
    persist,
    async submit(event) {
      const to = { entity: 'Orchestrator', key: event.customerId };
      const message = { type: 'lifecycle', event, receivedAt: node.clock.now() };
      const refused = host().refusal(to, { t: 'call', to, from: { node: node.name, ref: 'submit' }, event: message });
      if (refused !== undefined) throw new InvalidMessageError(to, refused);
      const outcome = await node.call<Outcome>(to, message, { timeout: options.submitTimeoutMs ?? 60_000 });
      persist(event.customerId);
      return outcome;
    },
    stateOf(kind, customerId) {
      const address = { entity: kind, key: customerId };
      const live = host().processOf(address);
      if (live) return live.getState();
      const stored = store.get(address)?.state.snapshot as { value: unknown; context: unknown } | undefined;
      return stored ? { value: stored.value, context: stored.context } : undefined;
    },
    async verifyReceipts(customerId) {
      const address = { entity: 'Receipts', key: customerId };
      // The call commits the actor (and a migration of its stored state) before it answers.
      await node.call(address, { type: 'verify' });
      const context = store.get(address)?.state.snapshot as { context?: unknown } | undefined;
      return verifyReceipts(context?.context, store.journalOf(address));
    },
    async stop() {
      await node.stop();
    },
  };
}
