import { entityName, type EntityAddress } from '../runtime/entity.ts';
import { GovernorError } from '../errors.ts';
import type { Node } from '../runtime/node.ts';
import type { PersistedTimer } from '../runtime/persisted-state.ts';
import * as sys from '../runtime/sys.ts';
import type { StoredActor } from '../store/actor-store.ts';
import type { BullmqTransport } from '../transport/bullmq/bullmq-transport.ts';
import type { ClusterReads } from './cluster-reads.ts';

/**
 * Where a node reads the entities it does not hold in memory: most customers, most of the time
 * (passivated after a while, or on another node's partition). Their committed state is in the
 * store, as whole as the node that holds them would restore it.
 */
export interface EntitySource {
  /** The entity's committed state, `undefined` if it never committed. */
  committed(address: EntityAddress): Promise<StoredActor | undefined>;
  /** The node holding the entity's partition, where it runs (BullMQ); `undefined` when none does. */
  holder?(address: EntityAddress): Promise<string | undefined>;
}

/** An entity's state as `get_state` shows it, saying where it was read. */
export interface EntityState {
  readonly entity: string;
  readonly value: unknown;
  readonly context: unknown;
  /** The node in whose memory it runs and was read; `false`: read from its committed state. */
  readonly resident: string | false;
  /** The version of its committed state (0: it has never committed). */
  readonly version: number;
  /** The node holding its partition, when that is not the node that answered: it may be live there. */
  readonly holder?: string;
}

/** An entity's status as `get_status` shows it: the process's own when resident, else what was committed. */
export type EntityStatus =
  | (Record<string, unknown> & { readonly resident: string; readonly version: number; readonly holder?: string })
  | {
      readonly entity: string;
      readonly status: 'not in memory';
      readonly resident: false;
      readonly version: number;
      readonly stateValue: unknown;
      readonly state: { value: unknown; context: unknown };
      /** The timers it left armed: they fire when it is next brought back, or at once if due. */
      readonly timers: readonly PersistedTimer[];
      readonly postponed: number;
      readonly holder?: string;
    };

/** An entity neither in memory nor committed: it has never handled a message. `NOPROC`, as for a process. */
export class NoEntityError extends GovernorError {
  constructor(readonly address: EntityAddress, node: string, where: string) {
    super('NOPROC', `no such entity: ${label(address)} is not in memory on node ${node} and has committed nothing, so it has not handled a message yet${where}`);
  }
}

/** `get_state` of an entity: live where it is resident on `node`, else as committed. */
export async function entityState(node: Node, address: EntityAddress, source: EntitySource): Promise<EntityState> {
  const [stored, holder] = await read(node, address, source);
  const pid = node.whereis(entityName(address));
  if (pid) {
    const { value, context } = sys.getState(node, pid) as { value: unknown; context: unknown };
    return { entity: label(address), value, context, resident: node.name, version: stored?.version ?? 0, ...holder };
  }
  const committed = requireCommitted(node, address, stored, holder.holder);
  return { entity: label(address), ...committed.state, resident: false, version: committed.version, ...holder };
}

/** `get_status` of an entity: the live process's status where resident on `node`, else its committed state. */
export async function entityStatus(node: Node, address: EntityAddress, source: EntitySource): Promise<EntityStatus> {
  const [stored, holder] = await read(node, address, source);
  const pid = node.whereis(entityName(address));
  if (pid) return { ...(sys.getStatus(node, pid) as unknown as Record<string, unknown>), resident: node.name, version: stored?.version ?? 0, ...holder };
  const committed = requireCommitted(node, address, stored, holder.holder);
  return {
    entity: label(address),
    status: 'not in memory',
    resident: false,
    version: committed.version,
    stateValue: committed.state.value,
    state: committed.state,
    timers: committed.timers,
    postponed: committed.postponed,
    ...holder,
  };
}

async function read(node: Node, address: EntityAddress, source: EntitySource): Promise<[StoredActor | undefined, { holder?: string }]> {
  const [stored, holder] = await Promise.all([source.committed(address), source.holder?.(address)]);
  return [stored, holder === undefined || holder === node.name ? {} : { holder }];
}

function requireCommitted(node: Node, address: EntityAddress, stored: StoredActor | undefined, holder: string | undefined) {
  if (!stored) {
    const where = holder === undefined ? '' : ` (its partition is on node ${holder})`;
    throw new NoEntityError(address, node.name, where);
  }
  const snapshot = (stored.state.snapshot ?? {}) as { value?: unknown; context?: unknown };
  return {
    version: stored.version,
    state: { value: snapshot.value, context: snapshot.context },
    timers: stored.state.timers,
    postponed: stored.state.postponed.length,
  };
}

/** A BullMQ node's source: committed states from Redis, the holder of a partition from its lease. */
export function bullmqEntitySource(transport: BullmqTransport, reads: ClusterReads, nodeName: string): EntitySource {
  return {
    committed: (address) => reads.committed(address),
    holder: async (address) => {
      const partition = transport.partitionOf(address);
      // Its own partitions it knows without asking; a lease it holds is renewed on its own beat.
      return transport.ownedPartitions().includes(partition) ? nodeName : reads.leaseHolder(partition);
    },
  };
}

const label = (address: EntityAddress) => `${address.entity}/${address.key}`;
