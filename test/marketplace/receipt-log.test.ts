import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendReceipt, eventDigest, GENESIS_HASH, GENESIS_TIP, receiptHash, tipOf, type Receipt, type ReceiptEntry } from '../../src/marketplace/receipts.ts';
import { signTreeHead, verifyTreeHead, type SignedTreeHead } from '../../src/marketplace/receipt-tree-head.ts';
import { signChainHead, verifyChainHead } from '../../src/marketplace/receipt-head.ts';
import {
  frontierOfReceipts,
  proveConsistency,
  proveInclusion,
  verifyLogProof,
  verifyReceiptLog,
  type LogDamageKind,
} from '../../src/marketplace/receipt-log.ts';
import { frontierRoot } from '../../src/marketplace/merkle.ts';
import { addPublicKey, emptyKeyring, generateSigningKey } from '../../src/marketplace/signing-keys.ts';

const key = generateSigningKey('audit-1', { random: () => new Uint8Array(32).fill(11) });
const keyring = addPublicKey(emptyKeyring(), key);
const stranger = generateSigningKey('audit-1', { random: () => new Uint8Array(32).fill(12) });

function entry(i: number): ReceiptEntry {
  return {
    eventId: `evt-${i}`,
    customerRef: 'a'.repeat(64),
    type: 'UsageReported',
    outcomes: [{ governor: 'Billing', outcome: 'applied' }],
    payloadDigest: eventDigest({ i }),
    committedAt: 1_740_000_000_000 + i,
  };
}

function chainOf(length: number, from = GENESIS_TIP): Receipt[] {
  const out: Receipt[] = [];
  let tip = from;
  for (let i = tip.seq + 1; out.length < length; i++) {
    const r = appendReceipt(tip, entry(i));
    out.push(r);
    tip = tipOf(r);
  }
  return out;
}

function headOf(receipts: readonly Receipt[], size = receipts.length, firstSeq = receipts[0]?.seq ?? 0): SignedTreeHead {
  return signTreeHead({ logId: 'log-1', treeSize: size, rootHash: frontierRoot(frontierOfReceipts(receipts.slice(0, size))), firstSeq, signedAt: 1_750_000_000_000 }, key);
}

/** Re-chains receipts from the genesis on, as a forger who cannot sign would. */
function rehash(receipts: readonly Receipt[]): Receipt[] {
  let tip = GENESIS_TIP;
  return receipts.map((r) => {
    const next = { seq: tip.seq + 1, prevHash: tip.hash, hash: receiptHash(tip.seq + 1, tip.hash, r.entry), entry: r.entry };
    tip = tipOf(next);
    return next;
  });
}

describe('signed tree heads (v2)', () => {
  it('verify with the public key alone, and fail for another key, an edited field or a v1 context', () => {
    const head = headOf(chainOf(3));
    expect(verifyTreeHead(head, keyring)).toEqual({ ok: true, head });
    expect(verifyTreeHead(signTreeHead({ ...head }, stranger), keyring)).toMatchObject({ ok: false, reason: 'bad_signature' });
    for (const field of ['treeSize', 'firstSeq', 'signedAt'] as const) {
      expect(verifyTreeHead({ ...head, [field]: head[field] + 1 }, keyring)).toMatchObject({ ok: false, reason: 'bad_signature' });
    }
    expect(verifyTreeHead({ ...head, rootHash: GENESIS_HASH }, keyring)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyTreeHead({ ...head, anchor: GENESIS_TIP }, keyring)).toMatchObject({ ok: false, reason: 'malformed' });
    // Domain separation: a v1 chain head's signature is no v2 head's, and the other way round.
    const v1 = signChainHead({ chainId: 'log-1', tip: { seq: 2, hash: head.rootHash }, signedAt: head.signedAt }, key);
    expect(verifyTreeHead({ ...head, signature: v1.signature }, keyring)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyChainHead({ ...v1, signature: head.signature }, keyring)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});

describe('a log verified against its signed root', () => {
  const receipts = chainOf(11);
  const head = headOf(receipts);

  it('verifies whole, from genesis', () => {
    expect(verifyReceiptLog(receipts, head, keyring)).toMatchObject({ ok: true, length: 11, treeSize: 11, firstSeq: 0, complete: true });
  });

  const forged: Array<[string, () => unknown[], LogDamageKind]> = [
    // The forgery of issue 15: keep the last receipt and claim it is where the log starts.
    ['all but the last receipt dropped', () => receipts.slice(10), 'deleted'],
    ['the first receipt dropped', () => receipts.slice(1), 'deleted'],
    ['the first receipts dropped and the rest re-chained from genesis', () => rehash(receipts.slice(3)), 'truncated'],
    ['the first receipt edited and the log re-chained', () => rehash(receipts.map((r, i) => (i === 0 ? { ...r, entry: { ...r.entry, committedAt: 1 } } : r))), 'edited'],
    ['two receipts swapped and re-chained', () => rehash([receipts[1]!, receipts[0]!, ...receipts.slice(2)]), 'edited'],
    ['a receipt edited', () => receipts.map((r, i) => (i === 4 ? { ...r, entry: { ...r.entry, outcomes: [] } } : r)), 'edited'],
    ['a cut-off tail', () => receipts.slice(0, 9), 'truncated'],
  ];

  it.each(forged)('%s fails', (_name, tamper, kind) => {
    expect(verifyReceiptLog(tamper(), head, keyring)).toMatchObject({ ok: false, kind });
  });

  it('takes the start from the signed head only: a head of another key, or none, is not a start', () => {
    expect(verifyReceiptLog(receipts, signTreeHead({ ...head }, stranger), keyring)).toMatchObject({ ok: false, kind: 'bad_signature' });
    expect(verifyReceiptLog(receipts, { ...head, firstSeq: 10 }, keyring)).toMatchObject({ ok: false, kind: 'bad_signature' });
    expect(verifyReceiptLog(receipts, undefined, keyring)).toMatchObject({ ok: false, kind: 'malformed' });
  });

  it('a log that starts after genesis (migrated after a loss) verifies, and says it is not complete', () => {
    const lost = chainOf(5);
    const kept = chainOf(6, tipOf(lost.at(-1)!));
    expect(verifyReceiptLog(kept, headOf(kept, 6, 5), keyring)).toMatchObject({ ok: true, firstSeq: 5, complete: false });
    // The same receipts under a head that claims genesis do not.
    expect(verifyReceiptLog(kept, headOf(kept, 6, 0), keyring)).toMatchObject({ ok: false, kind: 'deleted' });
  });

  it('receipts after the signed size are chain-checked, and the signed ones still cover the start', () => {
    expect(verifyReceiptLog(receipts, headOf(receipts, 7), keyring)).toMatchObject({ ok: true, length: 11, treeSize: 7 });
  });

  it('any single-field edit of any receipt fails (property)', () => {
    fc.assert(
      fc.property(fc.nat(10), fc.integer({ min: 0, max: 2 }), (i, what) => {
        const copy = receipts.map((r) => ({ ...r, entry: { ...r.entry } }));
        if (what === 0) copy[i]!.entry.committedAt += 1;
        else if (what === 1) copy[i] = { ...copy[i]!, hash: GENESIS_HASH };
        else copy[i]!.entry.eventId = 'evt-other';
        expect(verifyReceiptLog(copy, head, keyring).ok).toBe(false);
        expect(verifyReceiptLog(rehash(copy), head, keyring).ok).toBe(what === 1); // a re-chained bad hash is the original again
      }),
    );
  });
});

describe('proofs checked offline', () => {
  const receipts = chainOf(13);
  const head = headOf(receipts);
  const earlier = headOf(receipts, 6);

  it('an inclusion proof of each receipt verifies; a tampered one does not', () => {
    for (let i = 0; i < 13; i++) expect(verifyLogProof(proveInclusion(receipts, head, i), keyring)).toEqual({ ok: true, kind: 'inclusion', seq: i, treeSize: 13 });
    const proof = proveInclusion(receipts, head, 4);
    expect(verifyLogProof({ ...proof, receipt: receipts[5] }, keyring)).toMatchObject({ ok: false, kind: 'not_included' });
    expect(verifyLogProof({ ...proof, receipt: { ...proof.receipt, entry: { ...proof.receipt.entry, committedAt: 2 } } }, keyring)).toMatchObject({ ok: false, kind: 'edited' });
    expect(verifyLogProof({ ...proof, path: proof.path.slice(1) }, keyring)).toMatchObject({ ok: false, kind: 'not_included' });
    expect(verifyLogProof({ ...proof, head: { ...head, treeSize: 14 } }, keyring)).toMatchObject({ ok: false, kind: 'bad_signature' });
    const forgedLog = rehash(receipts.map((r, i) => (i === 4 ? { ...r, entry: { ...r.entry, committedAt: 3 } } : r)));
    expect(verifyLogProof({ ...proveInclusion(forgedLog, headOf(forgedLog), 4), head }, keyring)).toMatchObject({ ok: false, kind: 'not_included' });
    expect(() => proveInclusion(receipts, earlier, 6)).toThrow(/index/);
  });

  it('a consistency proof between two heads verifies; between a head and a rewritten log’s head it does not', () => {
    expect(verifyLogProof(proveConsistency(receipts, earlier, head), keyring)).toEqual({ ok: true, kind: 'consistency', first: 6, second: 13 });
    expect(verifyLogProof(proveConsistency(receipts, head, earlier), keyring)).toMatchObject({ ok: true, first: 6 });
    const rewritten = rehash(receipts.map((r, i) => (i === 2 ? { ...r, entry: { ...r.entry, committedAt: 3 } } : r)));
    const proof = proveConsistency(rewritten, headOf(rewritten, 6), headOf(rewritten));
    expect(verifyLogProof({ ...proof, first: earlier }, keyring)).toMatchObject({ ok: false, kind: 'inconsistent' });
    expect(verifyLogProof({ ...proveConsistency(receipts, earlier, head), second: { ...head, logId: 'other' } }, keyring)).toMatchObject({ ok: false, kind: 'bad_signature' });
    expect(verifyLogProof({ v: 2, kind: 'other', path: [] }, keyring)).toMatchObject({ ok: false, kind: 'malformed' });
  });
});
