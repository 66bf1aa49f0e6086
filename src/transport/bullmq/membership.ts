import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PartitionId, RedisKeys } from '../../store/redis-keys.ts';
import type { GovernorCommands } from '../../store/redis-scripts.ts';
import type { TransportSettings } from './options.ts';
import { systemClock } from '../../runtime/clock.ts';

/** What a node says about itself in its heartbeat. */
export interface NodeInfo {
  readonly kinds: readonly string[];
  readonly placement: string;
  readonly startedAt: number;
  readonly host?: string;
  readonly pid?: number;
  /** `test`: the node runs on a test clock (GOVERNOR_TEST_CLOCK), never in production. */
  readonly clock?: 'test';
}

/** A node as the cluster sees it. */
export interface ClusterNode {
  readonly name: string;
  /** It renewed its liveness in time (Redis clock). */
  readonly alive: boolean;
  /** When its liveness runs out (ms, Redis clock). */
  readonly deadline: number;
  readonly info: NodeInfo | undefined;
}

/** What membership needs from the transport. @internal */
export interface MembershipContext {
  readonly name: string;
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  readonly redis: Redis & GovernorCommands;
  readonly logger: Logger;
  info(): NodeInfo;
  /**
   * The partitions this node may own, by group: one group of all partitions (sharded), or one per
   * kind it hosts (distributed), each shared among the live nodes hosting that kind.
   */
  eligible(): Map<string, PartitionId[]>;
  /** The partitions this node holds now. */
  owned(): PartitionId[];
  claimed(partition: PartitionId): Promise<void>;
  /** Hands a partition back gracefully (finish, flush), before its lease is released. */
  release(partition: PartitionId): Promise<void>;
  lost(partition: PartitionId): void;
  nodeDown(name: string): void;
}

/**
 * Cluster membership: heartbeats, partition leases and fair shares.
 *
 * On every beat a node (1) records its liveness and reads everyone's on the Redis clock,
 * (2) renews the leases it holds — a lease it finds lost stops that partition at once, (3)
 * claims free partitions up to its fair share (`ceil(partitions / live nodes)`, per kind when
 * distributed), or releases the extra ones when nodes joined, and (4) forgets nodes dead for
 * longer than a lease: their names leave the registry and their inbox is removed.
 *
 * A dead node's partitions are free once their leases expire, so the others take them over within
 * `leaseMs + heartbeatMs`, plus the time BullMQ needs to notice its stalled job.
 */
export class Membership {
  readonly #ctx: MembershipContext;
  #timer: unknown;
  #beating: Promise<void> | undefined;
  #stopped = false;
  #nodes = new Map<string, ClusterNode>();
  #now = 0;
  /** Releases in progress, so a beat does not release or claim them twice. */
  readonly #releasing = new Set<PartitionId>();

  constructor(ctx: MembershipContext) {
    this.#ctx = ctx;
  }

  /** The first beat (claims included) runs before this resolves; then one every `heartbeatMs`. */
  async start(): Promise<void> {
    await this.beat();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Real time, whatever the node's clock: leases expire in Redis' time.
    this.#timer = systemClock.setTimeout(() => {
      this.#beating = this.beat()
        .catch((error: unknown) => this.#ctx.logger.warn({ err: error }, 'heartbeat failed'))
        .finally(() => {
          this.#beating = undefined;
          this.#schedule();
        });
    }, this.#ctx.settings.heartbeatMs);
  }

  /** Stops beating (the node stops claiming); its leases stay until released or expired. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) systemClock.clearTimeout(this.#timer);
    await this.#beating;
  }

  /** The nodes as of the last beat. */
  nodes(): ClusterNode[] {
    return [...this.#nodes.values()];
  }

  /** A node known to be dead (missed its heartbeats); unknown nodes are not dead. */
  isDead(name: string): boolean {
    const node = this.#nodes.get(name);
    return node !== undefined && !node.alive;
  }

  async beat(): Promise<void> {
    const ctx = this.#ctx;
    const { settings, keys, redis } = ctx;
    const reply = await redis.govHeartbeat(keys.nodes, keys.nodeInfo, ctx.name, settings.leaseMs, JSON.stringify(ctx.info()));
    const now = Number(reply[0]);
    this.#now = now;
    const previous = this.#nodes;
    const nodes = new Map<string, ClusterNode>();
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const name = String(reply[i]);
      const deadline = Number(reply[i + 1]);
      let info: NodeInfo | undefined;
      try {
        info = reply[i + 2] ? (JSON.parse(String(reply[i + 2])) as NodeInfo) : undefined;
      } catch {
        info = undefined;
      }
      nodes.set(name, { name, alive: deadline >= now, deadline, info });
    }
    this.#nodes = nodes;
    for (const [name, node] of previous) {
      if (name !== ctx.name && node.alive && !nodes.get(name)?.alive) ctx.nodeDown(name);
    }
    if (this.#stopped) return;

    await this.#renew();
    await this.#balance();
    await this.#reap(now);
  }

  async #renew(): Promise<void> {
    const ctx = this.#ctx;
    const owned = ctx.owned().filter((p) => !this.#releasing.has(p));
    if (owned.length === 0) return;
    // One script call per lease: each lease is in its partition's slot (Redis Cluster).
    const flags = await Promise.all(owned.map(async (p) => (await ctx.redis.govRenew(1, ctx.keys.lease(p), ctx.name, ctx.settings.leaseMs))[0]));
    owned.forEach((partition, i) => {
      if (Number(flags[i]) !== 1) ctx.lost(partition);
    });
  }

  async #balance(): Promise<void> {
    const ctx = this.#ctx;
    const owned = new Set(ctx.owned());
    const live = [...this.#nodes.values()].filter((node) => node.alive);
    for (const [group, partitions] of ctx.eligible()) {
      const sharing = ctx.settings.placement === 'distributed' ? live.filter((node) => node.info?.kinds.includes(group)).length : live.length;
      const share = Math.ceil(partitions.length / Math.max(1, sharing));
      const mine = partitions.filter((p) => owned.has(p) && !this.#releasing.has(p));
      if (mine.length < share) {
        const wanted = share - mine.length;
        // Start looking at a node-specific offset, so nodes starting together do not all race for partition 0.
        const offset = hashOf(ctx.name) % partitions.length;
        const candidates = [...partitions.slice(offset), ...partitions.slice(0, offset)].filter((p) => !owned.has(p));
        if (candidates.length === 0) continue;
        // Each lease is in its partition's slot (Redis Cluster): claimed one script call each, as
        // many at once as are still wanted, in order of preference.
        const claimed: PartitionId[] = [];
        for (let next = 0; claimed.length < wanted && next < candidates.length; ) {
          const batch = candidates.slice(next, next + wanted - claimed.length);
          next += batch.length;
          const got = await Promise.all(batch.map((p) => ctx.redis.govClaim(1, ctx.keys.lease(p), ctx.name, ctx.settings.leaseMs, 1)));
          batch.forEach((p, i) => got[i]!.length > 0 && claimed.push(p));
        }
        await Promise.all(claimed.map((partition) => ctx.claimed(partition)));
      } else if (mine.length > share) {
        for (const partition of mine.slice(share)) void this.#release(partition);
      }
    }
  }

  async #release(partition: PartitionId): Promise<void> {
    const ctx = this.#ctx;
    this.#releasing.add(partition);
    try {
      await ctx.release(partition);
      await ctx.redis.govRelease(1, ctx.keys.lease(partition), ctx.name);
    } catch (error) {
      ctx.logger.warn({ err: error, partition }, 'releasing a partition failed; its lease will expire');
    } finally {
      this.#releasing.delete(partition);
    }
  }

  /** Releases every lease this node holds (after its partitions stopped). */
  async releaseAll(partitions: readonly PartitionId[]): Promise<void> {
    const ctx = this.#ctx;
    if (partitions.length === 0) return;
    await Promise.all(partitions.map((p) => ctx.redis.govRelease(1, ctx.keys.lease(p), ctx.name)));
  }

  /** Removes this node from the node list at once (a clean shutdown is not a death). */
  async leave(): Promise<void> {
    const ctx = this.#ctx;
    await ctx.redis.govReapNode(ctx.keys.nodes, ctx.keys.nodeInfo, ctx.keys.names, ctx.keys.nodeNames(ctx.name), ctx.name, Number.MAX_SAFE_INTEGER);
  }

  async #reap(now: number): Promise<void> {
    const ctx = this.#ctx;
    for (const node of this.#nodes.values()) {
      if (node.alive || node.name === ctx.name || node.deadline >= now - ctx.settings.leaseMs) continue;
      const reaped = await ctx.redis.govReapNode(ctx.keys.nodes, ctx.keys.nodeInfo, ctx.keys.names, ctx.keys.nodeNames(node.name), node.name, now - ctx.settings.leaseMs);
      if (reaped === 1) {
        this.#nodes.delete(node.name);
        ctx.logger.info({ node: node.name }, 'forgot a dead node');
        await this.onReaped?.(node.name);
      }
    }
  }

  /** Called once per dead node, on the node that reaped it (to remove its inbox). */
  onReaped: ((name: string) => Promise<void>) | undefined;

  /** The Redis clock at the last beat. */
  get now(): number {
    return this.#now;
  }
}

function hashOf(name: string): number {
  return createHash('sha1').update(name).digest().readUInt32BE(0);
}
