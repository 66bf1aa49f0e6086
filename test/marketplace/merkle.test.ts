import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  appendLeaf,
  consistencyProof,
  frontierRoot,
  inclusionProof,
  isMerkleFrontier,
  leafHash,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
  type MerkleFrontier,
} from '../../src/marketplace/merkle.ts';

/**
 * The reference: RFC 9162 §2.1.1's definition of MTH, transcribed on bytes with no shared code
 * (its own hashing, its own split), so that it and the module can disagree.
 */
function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function referenceMth(entries: Buffer[]): Buffer {
  const n = entries.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(Buffer.from([0x00]), entries[0]!);
  let k = 1;
  while (k << 1 < n) k <<= 1; // the largest power of two smaller than n
  return sha256(Buffer.from([0x01]), referenceMth(entries.slice(0, k)), referenceMth(entries.slice(k)));
}

const ref = (entries: Buffer[]) => referenceMth(entries).toString('hex');
const leavesOf = (entries: Buffer[]) => entries.map((e) => leafHash(e));
const frontierOf = (entries: Buffer[]): MerkleFrontier => entries.reduce((f, e) => appendLeaf(f, leafHash(e)), EMPTY_FRONTIER);

/** The inputs of the Certificate Transparency reference implementation's tree tests. */
const CT_ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const entriesArb = (min: number, max: number) => fc.array(fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)), { minLength: min, maxLength: max });
const flipHash = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);

describe('the tree hash (RFC 9162 §2.1.1)', () => {
  it('the empty tree is SHA-256 of nothing', () => {
    expect(EMPTY_ROOT).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([])).toBe(EMPTY_ROOT);
    expect(frontierRoot(EMPTY_FRONTIER)).toBe(EMPTY_ROOT);
  });

  it('matches the Certificate Transparency reference roots for 1 to 8 leaves', () => {
    for (let n = 1; n <= 8; n++) {
      expect(merkleRoot(leavesOf(CT_ENTRIES.slice(0, n)))).toBe(CT_ROOTS[n - 1]);
      expect(ref(CT_ENTRIES.slice(0, n))).toBe(CT_ROOTS[n - 1]);
    }
  });

  it('the root from the leaves, the root from the frontier and the reference agree for any entries', () => {
    fc.assert(
      fc.property(entriesArb(0, 70), (entries) => {
        const expected = ref(entries);
        expect(merkleRoot(leavesOf(entries))).toBe(expected);
        expect(frontierRoot(frontierOf(entries))).toBe(expected);
      }),
    );
  });

  it('the frontier keeps one node per set bit of the size (O(log n)), and is recognised when read back', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => Buffer.from(String(i)));
    const frontier = frontierOf(entries);
    expect(frontier.size).toBe(1000);
    expect(frontier.nodes).toHaveLength(6); // 1000 = 0b1111101000
    expect(isMerkleFrontier(JSON.parse(JSON.stringify(frontier)))).toBe(true);
    expect(isMerkleFrontier({ size: 1000, nodes: frontier.nodes.slice(1) })).toBe(false);
    expect(isMerkleFrontier({ size: 1, nodes: ['zz'] })).toBe(false);
  });

  it('a leaf and an interior node over the same bytes hash differently (second preimage)', () => {
    const [a, b] = leavesOf([Buffer.from('a'), Buffer.from('b')]);
    const forged = leafHash(Buffer.concat([Buffer.from(a!, 'hex'), Buffer.from(b!, 'hex')]));
    expect(forged).not.toBe(merkleRoot([a!, b!]));
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  it('every leaf’s proof verifies against the root of every tree that contains it', () => {
    fc.assert(
      fc.property(entriesArb(1, 40), (entries) => {
        const leaves = leavesOf(entries);
        for (let size = 1; size <= leaves.length; size++) {
          const root = ref(entries.slice(0, size));
          for (let i = 0; i < size; i++) expect(verifyInclusion(leaves[i]!, i, size, inclusionProof(leaves, i, size), root)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('a tampered proof, leaf, index or root fails', () => {
    fc.assert(
      fc.property(entriesArb(2, 40), fc.nat(), (entries, pick) => {
        const leaves = leavesOf(entries);
        const size = leaves.length;
        const i = pick % size;
        const proof = inclusionProof(leaves, i);
        const root = merkleRoot(leaves);
        const j = pick % proof.length;
        expect(verifyInclusion(leaves[i]!, i, size, proof.map((p, k) => (k === j ? flipHash(p) : p)), root)).toBe(false);
        expect(verifyInclusion(flipHash(leaves[i]!), i, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaves[i]!, i, size, proof, flipHash(root))).toBe(false);
        expect(verifyInclusion(leaves[i]!, i, size, proof.slice(0, -1), root)).toBe(false);
        expect(verifyInclusion(leaves[i]!, i, size, [...proof, root], root)).toBe(false);
        // (Another size with the same root can pass: a proof binds the root, and the signed head binds root and size together.)
        if (leaves[(i + 1) % size] !== leaves[i]) expect(verifyInclusion(leaves[i]!, (i + 1) % size, size, proof, root)).toBe(false);
      }),
    );
  });

  it('refuses indexes outside the tree and malformed input without throwing', () => {
    const leaves = leavesOf(CT_ENTRIES);
    const root = merkleRoot(leaves);
    expect(verifyInclusion(leaves[0]!, 8, 8, inclusionProof(leaves, 7), root)).toBe(false);
    expect(verifyInclusion(leaves[0]!, -1, 8, [], root)).toBe(false);
    expect(verifyInclusion('nope', 0, 8, [], root)).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 8, [42], root)).toBe(false);
    expect(() => inclusionProof(leaves, 8)).toThrow(/index/);
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  it('any two sizes of a log are consistent, with the roots the reference computes', () => {
    fc.assert(
      fc.property(entriesArb(0, 40), (entries) => {
        const leaves = leavesOf(entries);
        for (let m = 0; m <= leaves.length; m++) {
          for (let n = m; n <= leaves.length; n++) {
            expect(verifyConsistency(m, n, consistencyProof(leaves, m, n), ref(entries.slice(0, m)), ref(entries.slice(0, n)))).toBe(true);
          }
        }
      }),
      { numRuns: 15 },
    );
  });

  it('a tampered proof, a rewritten earlier tree, or swapped sizes fail', () => {
    fc.assert(
      fc.property(entriesArb(3, 40), fc.nat(), fc.nat(), (entries, a, b) => {
        const leaves = leavesOf(entries);
        const n = leaves.length;
        const m = 1 + (a % (n - 1)); // 0 < m < n: a proof with content
        const proof = consistencyProof(leaves, m, n);
        const r1 = merkleRoot(leaves.slice(0, m));
        const r2 = merkleRoot(leaves);
        expect(verifyConsistency(m, n, proof, r1, r2)).toBe(true);
        const j = b % proof.length;
        expect(verifyConsistency(m, n, proof.map((p, k) => (k === j ? flipHash(p) : p)), r1, r2)).toBe(false);
        expect(verifyConsistency(m, n, proof, flipHash(r1), r2)).toBe(false);
        expect(verifyConsistency(m, n, proof, r1, flipHash(r2))).toBe(false);
        expect(verifyConsistency(m, n, [], r1, r2)).toBe(false);
        expect(verifyConsistency(n, m, proof, r2, r1)).toBe(false);
        // A log that rewrote an entry of its first m: the new root is not an extension of the old one.
        const rewritten = [...entries];
        rewritten[b % m] = Buffer.concat([rewritten[b % m]!, Buffer.from([0xff])]);
        const other = leavesOf(rewritten);
        expect(verifyConsistency(m, n, consistencyProof(other, m, n), r1, merkleRoot(other))).toBe(false);
      }),
    );
  });

  it('a tree is consistent with itself only for its own root, and the empty tree with any', () => {
    const leaves = leavesOf(CT_ENTRIES);
    const root = merkleRoot(leaves);
    expect(consistencyProof(leaves, 8, 8)).toEqual([]);
    expect(verifyConsistency(8, 8, [], root, root)).toBe(true);
    expect(verifyConsistency(8, 8, [], root, flipHash(root))).toBe(false);
    expect(verifyConsistency(0, 8, [], EMPTY_ROOT, root)).toBe(true);
    expect(verifyConsistency(0, 8, [], root, root)).toBe(false);
  });
});
