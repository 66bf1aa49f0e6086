import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { verifyReceipts } from '../../machines/receipts.ts';
import type { EntityAddress } from '../runtime/entity.ts';
import type { StoredActor } from '../store/actor-store.ts';
import { RedisKeys, type PartitionId } from '../store/redis-keys.ts';
import { RedisStore } from '../store/redis-store.ts';
import { scanKeys } from '../transport/bullmq/redis-servers.ts';
import type { Placement } from '../transport/bullmq/options.ts';
import { readNodes, type NodeView } from './cluster-nodes.ts';
import { listDeadLetters, type DeadLetter } from '../transport/bullmq/dead-letters.ts';
import { QueueCache } from '../transport/bullmq/queue-cache.ts';
import { noChain, summariseChains, type ChainCheck, type ChainsSummary, type QueueCounts } from './admin-operations.ts';

/** Dead letters `dlq()` lists at most; `governor dlq list --limit` reads further. */
const DLQ_LIMIT = 1_000;

/**
 * What the admin REPL reads straight from Redis, with no node in the loop (as `nodes()` reads the
 * membership set): queue counts, dead letters and the receipt chains of the committed states.
 * Only reads, so nothing here needs the admin token; a node down does not make them fail.
 */
export class ClusterReads {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #partitions: number;
  readonly #placement: Placement | undefined;
  readonly #queues: QueueCache;
  #store: RedisStore | undefined;

  constructor(
    /** A connection of its own (not a blocking one), closed by {@link close}. */
    redis: Redis,
    prefix: string,
    /** The nodes' partition count (`--partitions`). @default 16, the transport's */
    partitions = 16,
    /** The nodes' placement, when the caller knows it; else read from their heartbeats. */
    placement?: Placement,
  ) {
    this.#redis = redis;
    redis.on('error', () => undefined); // surfaced by the read that fails, not as an unhandled event
    this.#keys = new RedisKeys(prefix);
    this.#partitions = partitions;
    this.#placement = placement;
    // A REPL session outlives Redis restarts: a Queue whose first INFO failed is made again.
    this.#queues = new QueueCache((name) => {
      const queue = new Queue(name, { connection: redis, prefix });
      queue.on('error', () => undefined); // surfaced by the read that fails
      return queue;
    });
  }

  /**
   * The partition queues the nodes work on, then the DLQ. Sharded placement: `p.0` … `p.<n-1>`;
   * a node whose heartbeat says it runs `distributed` adds `p.<Kind>.<i>` for the kinds it hosts. Every
   * queue is listed even when Redis has no key of it yet: an empty queue is a zero, not an error.
   */
  async queues(): Promise<QueueCounts[]> {
    const names = await this.#queueNames();
    return Promise.all(
      names.map(async (queue) => {
        const c = await this.#queues.get(queue).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
        return { queue, depth: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), active: c.active ?? 0, failed: c.failed ?? 0 };
      }),
    );
  }

  async #queueNames(): Promise<string[]> {
    const indexes = Array.from({ length: this.#partitions }, (_, i) => i);
    const names = new Set<string>();
    const info = await this.#redis.hvals(this.#keys.nodeInfo);
    for (const text of info) {
      let node: { placement?: unknown; kinds?: unknown };
      try {
        node = JSON.parse(text) as typeof node;
      } catch {
        continue; // a node's heartbeat rewrites it; one unreadable entry hides nothing else
      }
      if (node.placement === 'distributed' && Array.isArray(node.kinds)) {
        for (const kind of node.kinds) if (typeof kind === 'string') for (const i of indexes) names.add(this.#keys.partitionQueue(`${kind}.${i}`));
      }
    }
    if (names.size === 0) for (const i of indexes) names.add(this.#keys.partitionQueue(String(i)));
    return [...names, this.#keys.deadLetterQueue];
  }

  dlq(): Promise<DeadLetter[]> {
    return listDeadLetters(this.#queues.get(this.#keys.deadLetterQueue), 0, DLQ_LIMIT - 1);
  }

  /**
   * Verifies receipt logs as committed in Redis (each customer's journal of receipts against the
   * size, Merkle root and start its Receipts state records), with the verification `governor
   * audit verify` runs on an export. What a node holds in memory but has not committed is not
   * here, and need not be: an event's receipt commits with its effects.
   */
  audit_verify(customerId?: string): Promise<ChainCheck | ChainsSummary> {
    if (customerId !== undefined) {
      if (typeof customerId !== 'string') return Promise.reject(new TypeError('audit_verify(customerId?) takes a customer id string'));
      return this.#verify(customerId);
    }
    return this.#verifyAll();
  }

  async #verify(customerId: string): Promise<ChainCheck> {
    const keys = await this.#entityKeys();
    return this.#check(keys, customerId, keys.state({ entity: 'Receipts', key: customerId }));
  }

  async #check(keys: RedisKeys, customerId: string, stateKey: string): Promise<ChainCheck> {
    // One MULTI (the state and its journal are in one slot, their partition's): both as of the same commit.
    const replies = await this.#redis.multi().hget(stateKey, 'd').lrange(keys.journal({ entity: 'Receipts', key: customerId }), 0, -1).exec();
    const [[stateError, stored], [journalError, journal]] = replies as [[Error | null, string | null], [Error | null, string[]]];
    if (stateError) throw stateError;
    if (journalError) throw journalError;
    return checkStoredChain(customerId, stored, journal);
  }

  async #verifyAll(): Promise<ChainsSummary> {
    const checks: ChainCheck[] = [];
    const keys = await this.#entityKeys();
    for (const key of await scanKeys(this.#redis, keys.statePattern('Receipts'))) {
      const customerId = keys.stateKeyOf('Receipts', key);
      if (customerId === undefined) continue;
      checks.push(await this.#check(keys, customerId, key));
    }
    // SCAN may return a key twice; a chain counts once.
    const unique = [...new Map(checks.map((c) => [c.customerId, c])).values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
    return summariseChains(unique);
  }

  /** The nodes with their liveness and the partitions each holds (see {@link readNodes}). */
  nodes(): Promise<NodeView[]> {
    return readNodes(this.#redis, this.#keys);
  }

  /** An entity's committed state, as a node would restore it; `undefined` if it never committed. */
  async committed(address: EntityAddress): Promise<StoredActor | undefined> {
    const keys = await this.#entityKeys();
    if (this.#store?.keys.placement !== keys.placement) this.#store = new RedisStore(this.#redis, { keys });
    return this.#store.load(address);
  }

  /**
   * The key names of entities, which hold their partition, so the nodes' placement: the one
   * given, else the nodes' (from their heartbeats; sharded unless one says distributed).
   */
  async #entityKeys(): Promise<RedisKeys> {
    const placement = this.#placement ?? (await this.#nodesPlacement());
    return new RedisKeys(this.#keys.prefix, { partitions: this.#partitions, placement });
  }

  async #nodesPlacement(): Promise<Placement> {
    const placements = (await this.#redis.hvals(this.#keys.nodeInfo)).map((text) => {
      try {
        return (JSON.parse(text) as { placement?: unknown }).placement;
      } catch {
        return undefined;
      }
    });
    return placements.includes('distributed') ? 'distributed' : 'sharded';
  }

  /** The node holding a partition's lease, if one does. */
  async leaseHolder(partition: PartitionId): Promise<string | undefined> {
    return (await this.#redis.get(this.#keys.lease(partition))) ?? undefined;
  }

  /**
   * The node holding an entity's partition, where it runs if it is in memory anywhere. The
   * placement is the nodes' (from their heartbeats; sharded unless one says distributed).
   */
  async holderOf(address: EntityAddress): Promise<string | undefined> {
    return this.leaseHolder((await this.#entityKeys()).partitionOf(address));
  }

  async close(): Promise<void> {
    await this.#queues.close();
    this.#redis.disconnect();
  }
}

/**
 * Verifies a stored Receipts log: the state (the `d` field of its hash) and the journal's entries
 * (JSON texts). A state of the v1 layout, not migrated yet, is verified as the chain it carries.
 */
export function checkStoredChain(customerId: string, stored: string | null | undefined, journal: readonly string[] = []): ChainCheck {
  if (stored === null || stored === undefined) return noChain(customerId);
  let context: unknown;
  let receipts: unknown[];
  try {
    context = (JSON.parse(stored) as { snapshot?: { context?: unknown } }).snapshot?.context;
    receipts = journal.map((text) => JSON.parse(text) as unknown);
  } catch {
    return { customerId, ok: false, position: 0, kind: 'malformed', message: 'the stored Receipts state or a journal entry is not JSON' };
  }
  if (!context || typeof context !== 'object') return { customerId, ok: false, position: 0, kind: 'malformed', message: 'the stored Receipts state is not JSON of an actor state' };
  const result = verifyReceipts(context, receipts);
  if (result.ok && 'complete' in result && !result.complete) {
    // Not silently ok: the log is whole only from where it could start.
    return { customerId, ...result, note: `receipts 0–${result.firstSeq - 1} were archived by an older Governor and stored nowhere: the log starts at receipt ${result.firstSeq}` };
  }
  return { customerId, ...result };
}
