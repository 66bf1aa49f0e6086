import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors.ts';

/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2), over SHA-256:
 *
 * - leaf hash `SHA-256(0x00 ‖ entry)`, interior node `SHA-256(0x01 ‖ left ‖ right)`;
 * - `MTH({}) = SHA-256("")`; for n > 1, with k the largest power of two below n,
 *   `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`;
 * - inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), with the RFC's verification
 *   algorithms (§2.1.3.2, §2.1.4.2) written out step by step.
 *
 * A log that only appends keeps a {@link MerkleFrontier}: the roots of the perfect subtrees along
 * its right edge (one per set bit of the size), O(log n), from which the next append and the root
 * are computed without the leaves. Proofs need the leaves' hashes (read back from the journal).
 *
 * Hashes are lowercase hex at the API, as elsewhere in receipts; sizes are plain numbers
 * (safe integers: a customer's log will not reach 2^53 entries). Pure: no I/O, no clock.
 */

/** A SHA-256 hash as 64 lowercase hex digits. */
export type HashHex = string;

const HEX64 = /^[0-9a-f]{64}$/;

/** `SHA-256(0x00 ‖ entry)`: the hash of a leaf holding `entry`. */
export function leafHash(entry: Uint8Array | string): HashHex {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest('hex');
}

/** `SHA-256(0x01 ‖ left ‖ right)`: an interior node. */
export function nodeHash(left: HashHex, right: HashHex): HashHex {
  return createHash('sha256').update(NODE_PREFIX).update(Buffer.from(left, 'hex')).update(Buffer.from(right, 'hex')).digest('hex');
}

/** `MTH({})`: the root of the empty tree, `SHA-256("")`. */
export const EMPTY_ROOT: HashHex = createHash('sha256').digest('hex');

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

// ── the frontier: what an appending log keeps ───────────────────────────────────────────────

/** The right edge of a tree of `size` leaves: the roots of its perfect subtrees, largest (leftmost) first. */
export interface MerkleFrontier {
  readonly size: number;
  readonly nodes: readonly HashHex[];
}

/** The frontier of the empty tree. */
export const EMPTY_FRONTIER: MerkleFrontier = { size: 0, nodes: [] };

/**
 * The frontier after one more leaf (its hash, {@link leafHash}). Like binary addition: the new
 * leaf merges with the subtrees of equal size at the right edge, one per trailing 1 bit of `size`.
 */
export function appendLeaf(frontier: MerkleFrontier, leaf: HashHex): MerkleFrontier {
  const nodes = [...frontier.nodes];
  let hash = leaf;
  for (let size = frontier.size; size % 2 === 1; size = Math.floor(size / 2)) hash = nodeHash(nodes.pop()!, hash);
  nodes.push(hash);
  return { size: frontier.size + 1, nodes };
}

/**
 * `MTH` of the tree a frontier stands for: its subtrees folded from the right. The left part of
 * RFC 9162's split (the largest power of two below n) is exactly the leftmost subtree, so the fold
 * gives the RFC's root.
 */
export function frontierRoot(frontier: MerkleFrontier): HashHex {
  const nodes = frontier.nodes;
  if (nodes.length === 0) return EMPTY_ROOT;
  let root = nodes[nodes.length - 1]!;
  for (let i = nodes.length - 2; i >= 0; i--) root = nodeHash(nodes[i]!, root);
  return root;
}

/** Checks a frontier read back from storage: as many nodes as set bits of `size`, each a hash. */
export function isMerkleFrontier(value: unknown): value is MerkleFrontier {
  const f = value as Partial<MerkleFrontier> | null;
  if (typeof f !== 'object' || f === null || !Number.isSafeInteger(f.size) || (f.size as number) < 0 || !Array.isArray(f.nodes)) return false;
  return f.nodes.length === popcount(f.size as number) && f.nodes.every((n) => typeof n === 'string' && HEX64.test(n));
}

// ── trees from their leaves: roots and proofs (§2.1.1, §2.1.3.1, §2.1.4.1) ─────────────────

/** `MTH(D[n])` of the leaves whose hashes are given, in order. */
export function merkleRoot(leaves: readonly HashHex[]): HashHex {
  return leaves.length === 0 ? EMPTY_ROOT : subtreeRoot(leaves, 0, leaves.length);
}

/**
 * `PATH(m, D[n])`: the inclusion proof of leaf `index` in the tree of the first `size` leaves,
 * from the leaf's sibling up. Throws {@link InvalidArgumentError} for an index outside the tree.
 */
export function inclusionProof(leaves: readonly HashHex[], index: number, size = leaves.length): HashHex[] {
  checkSize('size', size, leaves.length);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new InvalidArgumentError('index', `must be a leaf of the tree: an integer from 0 to ${size - 1}, got ${String(index)}`);
  }
  const proof: HashHex[] = [];
  path(leaves, index, 0, size, proof);
  return proof;
}

/**
 * `PROOF(m, D[n])`: the consistency proof that the tree of the first `first` leaves is a prefix
 * of the tree of the first `second` (empty when `first` is 0 or equals `second`).
 */
export function consistencyProof(leaves: readonly HashHex[], first: number, second = leaves.length): HashHex[] {
  checkSize('second', second, leaves.length);
  checkSize('first', first, second);
  const proof: HashHex[] = [];
  if (first > 0 && first < second) subproof(leaves, first, 0, second, true, proof);
  return proof;
}

function subtreeRoot(leaves: readonly HashHex[], start: number, end: number): HashHex {
  if (end - start === 1) return leaves[start]!;
  const k = largestPowerOfTwoBelow(end - start);
  return nodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

/** PATH(m, D[start:end]) appended to `out`, deepest first (the RFC's `:` appends). */
function path(leaves: readonly HashHex[], m: number, start: number, end: number, out: HashHex[]): void {
  const n = end - start;
  if (n <= 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m < k) {
    path(leaves, m, start, start + k, out);
    out.push(subtreeRoot(leaves, start + k, end));
  } else {
    path(leaves, m - k, start + k, end, out);
    out.push(subtreeRoot(leaves, start, start + k));
  }
}

/** SUBPROOF(m, D[start:end], b) appended to `out`. */
function subproof(leaves: readonly HashHex[], m: number, start: number, end: number, whole: boolean, out: HashHex[]): void {
  const n = end - start;
  if (m === n) {
    if (!whole) out.push(subtreeRoot(leaves, start, end));
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    subproof(leaves, m, start, start + k, whole, out);
    out.push(subtreeRoot(leaves, start + k, end));
  } else {
    subproof(leaves, m - k, start + k, end, false, out);
    out.push(subtreeRoot(leaves, start, start + k));
  }
}

// ── verification (§2.1.3.2, §2.1.4.2) ───────────────────────────────────────────────────────

/**
 * RFC 9162 §2.1.3.2: whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size`
 * leaves whose root is `root`. Never throws: a malformed input is a failed proof.
 */
export function verifyInclusion(leaf: HashHex, index: number, size: number, proof: readonly unknown[], root: HashHex): boolean {
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) return false;
  // 1. The leaf must be in the tree.
  if (index >= size) return false;
  // 2.–3.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  // 4.
  for (const p of proof as HashHex[]) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5.
  return sn === 0 && r === root;
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows the tree of `first` leaves with root `firstRoot` to be
 * a prefix of the tree of `second` leaves with root `secondRoot`. The RFC's algorithm covers
 * 0 < first < second; the two edge cases follow from §2.1.4.1: a tree is consistent with itself
 * (empty proof, equal roots), and the empty tree with every tree (empty proof). Never throws.
 */
export function verifyConsistency(first: number, second: number, proof: readonly unknown[], firstRoot: HashHex, secondRoot: HashHex): boolean {
  if (!isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === 0) return proof.length === 0 && firstRoot === EMPTY_ROOT;
  if (first === second) return proof.length === 0 && firstRoot === secondRoot;
  // 1. An empty path proves nothing.
  if (proof.length === 0) return false;
  // 2. A first tree that is a perfect subtree is not in the path: the verifier has its root.
  const path = isPowerOfTwo(first) ? [firstRoot, ...(proof as HashHex[])] : (proof as HashHex[]);
  // 3.
  let fn = first - 1;
  let sn = second - 1;
  // 4.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6.
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 7.
  return fr === firstRoot && sr === secondRoot && sn === 0;
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

function isHash(value: unknown): value is HashHex {
  return typeof value === 'string' && HEX64.test(value);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function popcount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}

function checkSize(name: string, size: number, max: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > max) {
    throw new InvalidArgumentError(name, `must be a tree size from 0 to ${max}, got ${String(size)}`);
  }
}
