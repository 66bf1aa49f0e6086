import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KeyPartitions } from '../../src/store/key-partitions.ts';

/**
 * The partition test vectors of the README's "Job format for producers", read from the README
 * itself so the table cannot drift from the code: for producers in other languages to reproduce.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('Partition test vectors'));
const vectors = [...section.matchAll(/^\| `([^`]+)` \| `([0-9a-f]{8})` \| (\d+) \|$/gmu)].map(([, key, bytes, partition]) => ({ key: key!, bytes: bytes!, partition: Number(partition) }));

describe('partition test vectors (README, "Job format for producers")', () => {
  it('the README has them, non-ASCII keys included', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    expect(vectors.some((v) => /[^\x20-\x7e]/.test(v.key))).toBe(true);
  });

  it.each(vectors)('$key → partition $partition of 16, as the nodes and the documented formula compute it', ({ key, bytes, partition }) => {
    const digest = createHash('sha256').update(Buffer.from(key, 'utf8')).digest();
    expect(digest.subarray(0, 4).toString('hex')).toBe(bytes);
    expect(digest.readUInt32BE(0) % 16).toBe(partition);
    expect(new KeyPartitions(16, 'sharded').partitionOf({ entity: 'Orchestrator', key })).toBe(String(partition));
    expect(new KeyPartitions(16, 'distributed').partitionOf({ entity: 'Orchestrator', key })).toBe(`Orchestrator.${partition}`);
  });
});
