import type { Logger } from 'pino';
import { systemClock } from '../../runtime/clock.ts';
import { entityName, type EntityAddress } from '../../runtime/entity.ts';
import type { PersistedActorState } from '../../runtime/persisted-state.ts';
import type { PartitionId, RedisKeys } from '../../store/redis-keys.ts';
import type { RedisStore } from '../../store/redis-store.ts';
import type { EntityHost } from '../../runtime/entity-host.ts';
import type { EntityCache } from './entity-cache.ts';
import { postponedRecords, readRecordsInto } from './record-lookup.ts';
import type { TransportSettings } from './options.ts';
import type { PartitionRuntime } from './partition.ts';
import type { Relay } from './relay.ts';
import { ambientScope, type AmbientScope, type Scope } from './scope.ts';

/** What entity scopes need from their transport. @internal */
export interface EntityScopesContext {
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  readonly cache: EntityCache;
  logger(): Logger;
  kinds(): readonly string[];
  partitionOf(address: EntityAddress): PartitionId;
  runtime(partition: PartitionId): PartitionRuntime | undefined;
  relay(): Relay | undefined;
  /** The store entities are loaded from (the workers' connection). */
  store(): RedisStore;
  /** The node's entity host, whose kinds name the records their events look up. */
  entities(): EntityHost | undefined;
}

/**
 * Which job (or ambient work: a timer, an inbox delivery) the node is running now, and the
 * entities' state as the transport keeps it: restored from the cache, marked dirty at each step
 * for the commit of the job (or the flush of the ambient work), loaded from Redis on demand.
 *
 * @internal one concept of the BullMQ transport, behind its façade.
 */
export class EntityScopes {
  readonly #ctx: EntityScopesContext;
  #scope: Scope | undefined;

  constructor(ctx: EntityScopesContext) {
    this.#ctx = ctx;
  }

  /** The scope of the work running now, if any. */
  get current(): Scope | undefined {
    return this.#scope;
  }

  /** Runs `work` as one sync window attributed to `scope`. */
  inScope(scope: Scope, work: () => void): void {
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
      this.inScope(scope, work);
    } finally {
      this.#endAmbient(scope);
    }
  }

  #endAmbient(scope: AmbientScope): void {
    if (scope.crashes.length > 0) {
      // An entity crashed half-way: it restarted from its last commit; so do the others touched.
      for (const partition of scope.partitions) this.#ctx.runtime(partition)?.reset();
      return;
    }
    if (scope.outbox.length === 0) return;
    const first = scope.partitions[0] === undefined ? undefined : this.#ctx.runtime(scope.partitions[0]);
    if (first) {
      first.pending.push(...scope.outbox);
      first.scheduleFlush();
    } else {
      this.#ctx.relay()?.push(scope.outbox);
    }
  }

  /** The committed state an entity starts from (the entity host's `restore`). */
  restore(address: EntityAddress): PersistedActorState | undefined {
    const record = this.#ctx.cache.get(address);
    if (!record) {
      const scope = this.#scope;
      if (scope?.kind === 'job') scope.missing.push(address);
      else this.#ctx.logger().error({ entity: entityName(address) }, 'an entity was started without being loaded: it starts fresh');
      return undefined;
    }
    record.latest = undefined; // persist the live process at commit: restoring may fire due timers
    this.#touch(record);
    return record.state;
  }

  /** An entity handled a message (the entity host's `commit`): its state is taken at the commit. */
  stepped(address: EntityAddress, persist: () => PersistedActorState): void {
    const record = this.#ctx.cache.get(address);
    if (!record) return;
    // Persisted at the commit: a job steps an entity several times, and only its last state is stored.
    record.latest = persist;
    this.#touch(record);
  }

  #touch(record: ReturnType<EntityCache['add']>): void {
    record.steps++;
    record.lastUsed = systemClock.now(); // idleness is real time: see PartitionOwnership.passivateIdle
    const runtime = this.#ctx.runtime(record.partition);
    if (!runtime) return;
    const scope = this.#scope;
    if (scope?.kind === 'ambient' && !scope.partitions.includes(record.partition)) scope.partitions.push(record.partition);
    runtime.markDirty(record, scope?.kind === 'job' && scope.partition === record.partition);
  }

  /** Loads the entities not in the cache; `undefined` (no promise) when all are there, the usual case. */
  load(addresses: readonly EntityAddress[]): Promise<void> | undefined {
    const missing = addresses.filter((address) => !this.#ctx.cache.has(address));
    return missing.length === 0 ? undefined : this.#loadMissing(missing);
  }

  async #loadMissing(missing: readonly EntityAddress[]): Promise<void> {
    const { cache, keys } = this.#ctx;
    const stored = await this.#ctx.store().loadMany(missing);
    const now = systemClock.now(); // lastUsed: idleness is real time, see PartitionOwnership.passivateIdle
    missing.forEach((address, i) => {
      if (cache.has(address)) return;
      const entryKeys = { stateKey: keys.state(address), handledKey: keys.handled(address) };
      cache.add(address, this.#ctx.partitionOf(address), entryKeys, stored[i]?.version ?? 0, stored[i]?.state, now);
    });
    // Postponed events look their records up when taken again, maybe outside any job: read now.
    const requests = missing.flatMap((address, i) => postponedRecords(this.#ctx.entities(), address, stored[i]?.state.postponed));
    await readRecordsInto(this.#ctx.store(), cache, requests);
  }

  /** The entities to load with a message's target: the other kinds of its key, co-located with it. */
  coLocated(target: EntityAddress): EntityAddress[] {
    const kinds = this.#ctx.kinds();
    if (this.#ctx.settings.placement !== 'sharded' || kinds.length === 0) return [target];
    return kinds.map((kind) => (kind === target.entity ? target : { entity: kind, key: target.key }));
  }
}
