import type { Cluster, Redis } from 'ioredis';

/** Whether a connection is a Redis Cluster one. */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * The connections to run a per-server command on: each master of a cluster (SCAN, INFO and
 * CONFIG answer for one server only), else the connection itself.
 */
export function servers(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/** Every key matching a glob, on one Redis or on every master of a cluster. */
export async function scanKeys(redis: Redis, pattern: string, count = 500): Promise<string[]> {
  const found = new Set<string>();
  for (const server of servers(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      for (const key of batch) found.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found];
}
