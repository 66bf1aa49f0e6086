import { createHash } from 'node:crypto';

/**
 * A stable 32-bit hash of an entity key, the same on every node and every run, for placing keys
 * on nodes and partitions. SHA-256, because keys come from outside and a weak hash would let a
 * producer crowd one partition on purpose.
 */
export function hashKey(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0);
}
