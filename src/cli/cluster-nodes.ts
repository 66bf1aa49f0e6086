import type { Redis } from 'ioredis';
import { scanKeys } from '../transport/bullmq/redis-servers.ts';
import type { PartitionId, RedisKeys } from '../store/redis-keys.ts';

/** One node as `nodes()` shows it: who it is, whether it is alive, and the partitions it holds. */
export interface NodeView {
  readonly name: string;
  /** It renewed its liveness in time (Redis clock). */
  readonly alive: boolean;
  /** The partitions whose leases it holds now, in order. */
  readonly partitions: readonly PartitionId[];
  readonly placement?: string;
  readonly kinds?: readonly string[];
  /** Since it started, by Redis' clock. */
  readonly uptime?: string;
  readonly startedAt?: number;
  readonly host?: string;
  readonly pid?: number;
  /** When its liveness runs out (ms, Redis clock). */
  readonly deadline?: number;
  /** `test`: it runs on a test clock (GOVERNOR_TEST_CLOCK), for tests only. */
  readonly clock?: 'test';
}

/**
 * The nodes as Redis has them (the membership set, each node's heartbeat info and the partition
 * leases), alive by Redis' clock: no node needs to answer. A lease held by a node no longer in the
 * set (it died; the lease has yet to expire) shows that node as not alive.
 */
export async function readNodes(redis: Redis, keys: RedisKeys): Promise<NodeView[]> {
  const [scores, info, time, leases] = await Promise.all([
    redis.zrange(keys.nodes, 0, -1, 'WITHSCORES'),
    redis.hgetall(keys.nodeInfo),
    redis.time(),
    readLeases(redis, keys),
  ]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const held = new Map<string, PartitionId[]>();
  for (const [partition, node] of leases) held.set(node, [...(held.get(node) ?? []), partition]);
  const byName = (name: string) => (held.get(name) ?? []).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const nodes: NodeView[] = [];
  for (let i = 0; i < scores.length; i += 2) {
    const name = scores[i]!;
    const deadline = Number(scores[i + 1]);
    nodes.push({ name, alive: deadline > now, partitions: byName(name), ...heartbeat(info[name], now), deadline });
  }
  for (const name of held.keys()) if (!nodes.some((n) => n.name === name)) nodes.push({ name, alive: false, partitions: byName(name) });
  return nodes;
}

/** Partition → the node holding its lease. */
async function readLeases(redis: Redis, keys: RedisKeys): Promise<Map<PartitionId, string>> {
  const names = await scanKeys(redis, keys.leasePattern);
  // One GET each, not an MGET: on a cluster each lease is in its partition's slot.
  const holders = await Promise.all(names.map((key) => redis.get(key)));
  const leases = new Map<PartitionId, string>();
  names.forEach((key, i) => {
    const partition = keys.leasePartitionOf(key);
    const holder = holders[i];
    // A lease may expire between SCAN and MGET: then nobody holds it.
    if (partition !== undefined && typeof holder === 'string') leases.set(partition, holder);
  });
  return leases;
}

function heartbeat(text: string | undefined, now: number): Omit<NodeView, 'name' | 'alive' | 'partitions'> {
  if (text === undefined) return {};
  let info: { placement?: unknown; kinds?: unknown; startedAt?: unknown; host?: unknown; pid?: unknown; clock?: unknown };
  try {
    info = JSON.parse(text) as typeof info;
  } catch {
    return {};
  }
  const startedAt = typeof info.startedAt === 'number' ? info.startedAt : undefined;
  return {
    ...(typeof info.placement === 'string' && { placement: info.placement }),
    ...(Array.isArray(info.kinds) && { kinds: info.kinds.filter((k): k is string => typeof k === 'string') }),
    ...(startedAt !== undefined && { uptime: duration(now - startedAt), startedAt }),
    ...(typeof info.host === 'string' && { host: info.host }),
    ...(typeof info.pid === 'number' && { pid: info.pid }),
    ...(info.clock === 'test' && { clock: 'test' as const }),
  };
}

/** `3d 4h`, `2h 5m`, `4m 12s`, `9s`: how long, for a person. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3_600), Math.floor((s % 3_600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
