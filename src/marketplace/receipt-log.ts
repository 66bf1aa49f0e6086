import { canonicalJson } from './canonical-json.ts';
import { InvalidArgumentError } from './errors.ts';
import {
  EMPTY_FRONTIER,
  appendLeaf,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
  type HashHex,
  type MerkleFrontier,
} from './merkle.ts';
import { verifyReceiptChain, type ChainDamageKind } from './receipt-verification.ts';
import { verifyTreeHead, type SignedTreeHead } from './receipt-tree-head.ts';
import { GENESIS_TIP, ReceiptSchema, receiptHash, type ChainTip, type Receipt } from './receipts.ts';
import type { PublicKeyring } from './signing-keys.ts';

/**
 * Receipts as a verifiable log (RFC 9162): leaf `i` of a customer's log is the receipt with
 * sequence number `firstSeq + i`, as the bytes of its canonical JSON (`{ entry, hash, prevHash,
 * seq }`); a signed tree head (`receipt-tree-head.ts`) signs the log's size and Merkle root.
 *
 * {@link verifyReceiptLog} is what `governor audit verify` runs on a v2 export: it recomputes the
 * root from the receipts given and compares it with the signed one, taking nothing else from the
 * file. Inclusion and consistency proofs ({@link proveInclusion}, {@link proveConsistency}) are
 * checked with the public key alone ({@link verifyLogProof}).
 *
 * The hash chain inside the receipts stays (a v1 export still verifies as a chain); it is what
 * lets a damaged log say where it is damaged, since a root mismatch alone says only "somewhere".
 */

/** The Merkle leaf hash of a receipt. */
export function receiptLeafHash(receipt: Receipt): HashHex {
  return leafHash(canonicalJson(receipt));
}

/** The frontier after appending `receipt` (what the Receipts actor keeps). */
export function appendReceiptLeaf(frontier: MerkleFrontier, receipt: Receipt): MerkleFrontier {
  return appendLeaf(frontier, receiptLeafHash(receipt));
}

/** The frontier of a list of receipts (migration: a chain kept in a state of the old layout). */
export function frontierOfReceipts(receipts: readonly Receipt[]): MerkleFrontier {
  return receipts.reduce(appendReceiptLeaf, EMPTY_FRONTIER);
}

/** What went wrong with a log: a chain's damage, or a proof that does not prove. */
export type LogDamageKind = ChainDamageKind | 'not_included' | 'inconsistent';

/** Outcome of {@link verifyReceiptLog}. */
export type ReceiptLogVerification =
  | {
      readonly ok: true;
      /** Receipts given (all of them chain-verified). */
      readonly length: number;
      readonly tip: ChainTip;
      /** Receipts the signed root covers (the first `treeSize`); any after them are chain-verified only. */
      readonly treeSize: number;
      readonly rootHash: HashHex;
      readonly firstSeq: number;
      /** `firstSeq === 0`: the log starts at genesis. Otherwise receipts 0 … firstSeq − 1 were lost before it existed. */
      readonly complete: boolean;
    }
  | { readonly ok: false; readonly position: number; readonly kind: LogDamageKind; readonly message: string };

/**
 * Verifies receipts (read back from anywhere) against a signed tree head, with the public keys
 * of `keyring` alone. The start of the log comes from the signed head (`firstSeq`), never from
 * the receipts' source. Never throws on bad data.
 */
export function verifyReceiptLog(receipts: unknown, head: unknown, keyring: PublicKeyring): ReceiptLogVerification {
  const checked = verifyTreeHead(head, keyring);
  if (!checked.ok) return damage(0, checked.reason === 'malformed' ? 'malformed' : 'bad_signature', checked.message);
  return verifyAgainstHead(receipts, checked.head);
}

/** {@link verifyReceiptLog} for a head already verified (or one the caller produced itself). */
export function verifyAgainstHead(receipts: unknown, head: Pick<SignedTreeHead, 'treeSize' | 'rootHash' | 'firstSeq'>): ReceiptLogVerification {
  if (!Array.isArray(receipts)) return damage(0, 'malformed', 'the log must be an array of receipts');
  const anchor = startOf(head.firstSeq, receipts[0]);
  const chain = verifyReceiptChain(receipts, { anchor });
  if (!chain.ok) return chain;
  if (receipts.length < head.treeSize) {
    return damage(receipts.length, 'truncated', `the signed head covers ${head.treeSize} receipts; the log ends after ${receipts.length}`);
  }
  const leaves = (receipts as Receipt[]).slice(0, head.treeSize).map(receiptLeafHash);
  if (merkleRoot(leaves) !== head.rootHash) {
    // The chain is whole, yet not the one signed: rewritten (re-hashed) from its start.
    return damage(0, 'edited', `the receipts are not the ${head.treeSize} the signed root covers: the log was rewritten`);
  }
  return { ok: true, length: receipts.length, tip: chain.tip, treeSize: head.treeSize, rootHash: head.rootHash, firstSeq: head.firstSeq, complete: head.firstSeq === 0 };
}

/**
 * The receipt before leaf 0: the genesis for a log from genesis; for a migrated log starting
 * later, the first receipt's own `prevHash` (bound by the root, which covers that receipt).
 */
function startOf(firstSeq: number, first: unknown): ChainTip {
  if (firstSeq === 0) return GENESIS_TIP;
  const prevHash = (first as { prevHash?: unknown } | null)?.prevHash;
  return { seq: firstSeq - 1, hash: typeof prevHash === 'string' ? prevHash : GENESIS_TIP.hash };
}

// ── proofs ───────────────────────────────────────────────────────────────────────────────────

/** An inclusion proof of one receipt against a signed tree head (`governor audit prove`). */
export interface InclusionProofDocument {
  readonly v: 2;
  readonly kind: 'inclusion';
  readonly head: SignedTreeHead;
  readonly leafIndex: number;
  readonly receipt: Receipt;
  readonly path: readonly HashHex[];
}

/** A consistency proof between two signed tree heads of one log. */
export interface ConsistencyProofDocument {
  readonly v: 2;
  readonly kind: 'consistency';
  readonly first: SignedTreeHead;
  readonly second: SignedTreeHead;
  readonly path: readonly HashHex[];
}

export type LogProofDocument = InclusionProofDocument | ConsistencyProofDocument;

/**
 * The inclusion proof of `receipts[index]` against `head` (which must cover it). The receipts
 * are the log from its first leaf (the export that `head` came with).
 */
export function proveInclusion(receipts: readonly Receipt[], head: SignedTreeHead, index: number): InclusionProofDocument {
  if (!Number.isSafeInteger(index) || index < 0 || index >= head.treeSize) {
    throw new InvalidArgumentError('index', `must be a receipt the head covers: 0 to ${head.treeSize - 1}, got ${String(index)}`);
  }
  const leaves = receipts.slice(0, head.treeSize).map(receiptLeafHash);
  return { v: 2, kind: 'inclusion', head, leafIndex: index, receipt: receipts[index]!, path: inclusionProof(leaves, index, head.treeSize) };
}

/** The consistency proof from the smaller of two heads of one log to the larger. */
export function proveConsistency(receipts: readonly Receipt[], first: SignedTreeHead, second: SignedTreeHead): ConsistencyProofDocument {
  if (first.logId !== second.logId || first.firstSeq !== second.firstSeq) {
    throw new InvalidArgumentError('heads', 'the two heads are of different logs (logId or firstSeq differ)');
  }
  const [a, b] = first.treeSize <= second.treeSize ? [first, second] : [second, first];
  const leaves = receipts.slice(0, b.treeSize).map(receiptLeafHash);
  return { v: 2, kind: 'consistency', first: a, second: b, path: consistencyProof(leaves, a.treeSize, b.treeSize) };
}

/** Outcome of {@link verifyLogProof}. */
export type LogProofVerification =
  | { readonly ok: true; readonly kind: 'inclusion'; readonly seq: number; readonly treeSize: number }
  | { readonly ok: true; readonly kind: 'consistency'; readonly first: number; readonly second: number }
  | { readonly ok: false; readonly kind: LogDamageKind; readonly message: string };

/** Checks an inclusion or consistency proof offline, with public keys alone. Never throws. */
export function verifyLogProof(proof: unknown, keyring: PublicKeyring): LogProofVerification {
  const doc = proof as { v?: unknown; kind?: unknown; path?: unknown; head?: unknown; leafIndex?: unknown; receipt?: unknown; first?: unknown; second?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || doc.v !== 2) return fail('malformed', 'not a proof: expected { v: 2, kind: "inclusion" | "consistency", … }');
  if (!Array.isArray(doc.path)) return fail('malformed', 'the proof has no path (an array of hashes)');
  if (doc.kind === 'inclusion') {
    const head = verifyTreeHead(doc.head, keyring);
    if (!head.ok) return fail(head.reason === 'malformed' ? 'malformed' : 'bad_signature', head.message);
    const receipt = ReceiptSchema.safeParse(doc.receipt);
    if (!receipt.success) return fail('malformed', 'the proof’s receipt does not have the receipt shape');
    const r = receipt.data;
    if (receiptHash(r.seq, r.prevHash, r.entry) !== r.hash) return fail('edited', `receipt ${r.seq} does not match its hash: its content was changed`);
    const index = r.seq - head.head.firstSeq;
    if (doc.leafIndex !== index) return fail('not_included', `receipt ${r.seq} is leaf ${index} of this log, not ${String(doc.leafIndex)}`);
    if (!verifyInclusion(receiptLeafHash(r), index, head.head.treeSize, doc.path, head.head.rootHash)) {
      return fail('not_included', `receipt ${r.seq} is not in the log the head signed (size ${head.head.treeSize})`);
    }
    return { ok: true, kind: 'inclusion', seq: r.seq, treeSize: head.head.treeSize };
  }
  if (doc.kind === 'consistency') {
    const first = verifyTreeHead(doc.first, keyring);
    if (!first.ok) return fail(first.reason === 'malformed' ? 'malformed' : 'bad_signature', `first head: ${first.message}`);
    const second = verifyTreeHead(doc.second, keyring);
    if (!second.ok) return fail(second.reason === 'malformed' ? 'malformed' : 'bad_signature', `second head: ${second.message}`);
    const a = first.head;
    const b = second.head;
    if (a.logId !== b.logId || a.firstSeq !== b.firstSeq) return fail('inconsistent', 'the two heads are of different logs (logId or firstSeq differ)');
    if (!verifyConsistency(a.treeSize, b.treeSize, doc.path, a.rootHash, b.rootHash)) {
      return fail('inconsistent', `the log of size ${b.treeSize} does not extend the log of size ${a.treeSize}: history was rewritten (or the proof is wrong)`);
    }
    return { ok: true, kind: 'consistency', first: a.treeSize, second: b.treeSize };
  }
  return fail('malformed', 'unknown proof kind: expected "inclusion" or "consistency"');
}

function fail(kind: LogDamageKind, message: string): LogProofVerification {
  return { ok: false, kind, message };
}

function damage(position: number, kind: LogDamageKind, message: string): ReceiptLogVerification {
  return { ok: false, position, kind, message };
}
