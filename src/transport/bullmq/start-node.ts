import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../runtime/clock.ts';
import { EntityHost, type EntityHostOptions, type EntityKind } from '../../runtime/entity-host.ts';
import { formatReason, type ExitReason } from '../../runtime/exit-reason.ts';
import { Node } from '../../runtime/node.ts';
import { BullmqTransport, type EntityHibernation } from './bullmq-transport.ts';
import type { BullmqTransportOptions } from './options.ts';

export interface BullmqNodeOptions extends BullmqTransportOptions {
  /** Unique among the nodes on this Redis. @default `<host>-<process id>-<random>` */
  name?: string;
  /** The entity kinds this node hosts (in `distributed` placement, see also `nodeKinds`). */
  kinds: readonly EntityKind[];
  /** @default the system clock */
  clock?: Clock;
  logger?: Logger;
  /**
   * Options of the entity host (intensity, period, a parent to link to, an observer), and of its
   * hibernation the sweep's `afterMs` and `afterCommit` (hibernate an entity its job's commit
   * leaves at rest once the commit is in, as the marketplace does; off by default).
   */
  entityHost?: Omit<EntityHostOptions, 'restore' | 'commit' | 'hibernation'> & { hibernation?: EntityHibernation };
  /**
   * Called when the top supervisor gave up (it exceeded its restart intensity), after the node
   * has left the cluster: its work is back in the queues and other nodes have its partitions.
   * Also called, with a `DatasetRolledBackError` as the reason, when the Redis dataset went
   * backwards and the node stopped taking work (see `DatasetEpoch`).
   * A node process should exit non-zero here, as an Erlang node does when a permanent
   * application's top supervisor terminates; `governor start` does (4, or 7 for a rollback).
   */
  onGiveUp?: (reason: ExitReason) => void;
}

/** A running BullMQ node: the node, its transport and its entities. */
export interface BullmqNode {
  readonly node: Node;
  readonly transport: BullmqTransport;
  readonly entities: EntityHost;
  /** Leaves the cluster gracefully (see {@link BullmqTransport.shutdown}), then stops the node. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Starts a node on a BullMQ transport: the node (with the transport's clock, so timeouts commit
 * their effects), an entity host restoring from the committed states, and the transport joined
 * to the cluster (partitions claimed) before this resolves.
 *
 * Refuses (rejects with `RedisNotDurableError`, nothing started) a Redis without AOF unless
 * `durability: 'allow-data-loss'` (or `GOVERNOR_ALLOW_DATA_LOSS=1`), and a dataset a node halted
 * after it went backwards (`DatasetRolledBackError`).
 *
 * @example
 * const { node, stop } = await startBullmqNode({ url: 'redis://localhost:6379', kinds: [{ kind: 'Billing', machine }] });
 * await node.call({ entity: 'Billing', key: 'c-1' }, { type: 'balance' });
 * await stop();
 */
export async function startBullmqNode(options: BullmqNodeOptions): Promise<BullmqNode> {
  const transport = new BullmqTransport(options);
  const node = new Node({
    name: options.name ?? defaultNodeName(),
    transport,
    clock: transport.clock(options.clock),
    logger: options.logger,
  });
  const { hibernation, ...hostOptions } = options.entityHost ?? {};
  const entities = new EntityHost(node, options.kinds, { ...hostOptions, ...transport.entityHostOptions(options.kinds, hibernation) });
  try {
    await transport.start();
  } catch (error) {
    await transport.shutdown({ timeoutMs: 0 }).catch(() => undefined);
    await node.stop();
    throw error;
  }
  let stopping = false;
  transport.onRollback((error) => {
    if (stopping) return;
    stopping = true;
    // The transport has logged it, stopped taking work and left the cluster already.
    void node.stop().finally(() => options.onGiveUp?.(error));
  });
  node.monitor(entities.supervisor, ({ reason }) => {
    // A shutdown (this stop, a signal handler's, the transport's own) stops the tree too: no give-up.
    if (stopping || transport.leaving) return;
    stopping = true;
    // Nothing here can host entities any more: leave, so the jobs go back to their queues and
    // the other nodes take the partitions over, rather than holding them with nobody home.
    node.logger.error({ reason: formatReason(reason) }, 'the top supervisor gave up (restart intensity exceeded): leaving the cluster');
    void transport
      .shutdown({ timeoutMs: 0 })
      .catch((error: unknown) => node.logger.error({ err: error }, 'leaving the cluster failed: the leases will expire'))
      .then(() => node.stop())
      .finally(() => options.onGiveUp?.(reason));
  });
  return {
    node,
    transport,
    entities,
    async stop(stopOptions = {}) {
      stopping = true;
      await transport.shutdown(stopOptions);
      await node.stop();
    },
  };
}

/** A node name unique enough for a fleet: host, process id and a random suffix. */
export function defaultNodeName(): string {
  const host = hostname().replaceAll(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
