/**
 * Receipt-chain tampering: random chains, random damage. The verifier must never throw on what
 * it reads back, and must name the first position where the chain stops being the one that was
 * written:
 * - naive tampering (any field of any receipt changed to any JSON value, a field removed or
 *   added, receipts swapped, deleted, inserted or duplicated, several at once) is reported at
 *   exactly the first index where the stored chain differs from the genuine one, with a signed
 *   head; without one, everything but a cut-off tail is still reported there;
 * - a forger who re-hashes the receipt they edit is reported at that receipt (by the next link,
 *   or by the signed head for the last one); one who re-hashes the whole rest of the chain is
 *   caught by the signed head alone, at the receipt the head covers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/marketplace/canonical-json.ts';
import { GOVERNORS } from '../../src/marketplace/event-routing.ts';
import { signChainHead, type SignedChainHead } from '../../src/marketplace/receipt-head.ts';
import { verifyReceiptChain, type ReceiptChainVerification } from '../../src/marketplace/receipt-verification.ts';
import { appendReceipt, GENESIS_TIP, receiptHash, tipOf, type Receipt, type ReceiptEntry } from '../../src/marketplace/receipts.ts';
import { addPublicKey, emptyKeyring, generateSigningKey } from '../../src/marketplace/signing-keys.ts';

const key = generateSigningKey('audit-sec', { random: () => new Uint8Array(32).fill(5) });
const keyring = addPublicKey(emptyKeyring(), key);
const KINDS = ['edited', 'deleted', 'reordered', 'truncated', 'bad_signature', 'malformed'];

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const safeId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/).filter((s) => s !== 'constructor' && s !== 'prototype');
const entry: fc.Arbitrary<ReceiptEntry> = fc.record({
  eventId: safeId,
  customerRef: hex64,
  type: fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/),
  outcomes: fc.array(
    fc.record(
      { governor: fc.constantFrom(...GOVERNORS), outcome: fc.constantFrom('applied' as const, 'not_applicable' as const, 'rejected' as const, 'conflict' as const), reasonCode: safeId },
      { requiredKeys: ['governor', 'outcome'] },
    ),
    { maxLength: 4 },
  ),
  payloadDigest: hex64,
  committedAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
});

function chainOf(entries: readonly ReceiptEntry[]): Receipt[] {
  const receipts: Receipt[] = [];
  let tip = GENESIS_TIP;
  for (const e of entries) {
    const receipt = appendReceipt(tip, e);
    receipts.push(receipt);
    tip = tipOf(receipt);
  }
  return receipts;
}

const headOf = (receipts: readonly Receipt[]): SignedChainHead => signChainHead({ chainId: 'audit', tip: tipOf(receipts.at(-1)!), signedAt: 1_750_000_000_000 }, key);

const chain = fc.array(entry, { minLength: 1, maxLength: 12 }).map(chainOf);

type Path = (string | number)[];
/** Every place inside a value: object fields and array items, at any depth. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => [[...at, k], ...pathsOf((value as Record<string | number, unknown>)[k], [...at, k])]);
}
function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const k of path) node = (node as Record<string | number, unknown>)[k];
  return node;
}
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
function parentOf(root: unknown, path: Path): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  return node;
}

/** One naive damage: nothing is re-hashed. Indexes are taken modulo the current length. */
type Damage =
  | { op: 'set'; at: number; path: number; value: unknown }
  | { op: 'remove-field'; at: number; path: number }
  | { op: 'add-field'; at: number; path: number; name: string; value: unknown }
  | { op: 'swap'; at: number; with: number }
  | { op: 'delete'; at: number }
  | { op: 'insert-copy'; at: number; of: number }
  | { op: 'duplicate'; at: number }
  | { op: 'insert-forged'; at: number; value: unknown };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), path: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant('remove-field' as const), at: fc.nat(), path: fc.nat() }),
  fc.record({ op: fc.constant('add-field' as const), at: fc.nat(), path: fc.nat(), name: fc.constantFrom('extra', '__proto__', 'constructor', 'seq', 'hash'), value: fc.jsonValue({ maxDepth: 1 }) }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert-copy' as const), at: fc.nat(), of: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert-forged' as const), at: fc.nat(), value: fc.oneof(fc.anything(), fc.record({ seq: fc.nat(20), prevHash: hex64, hash: hex64, entry })) }),
);

function applyDamage(receipts: unknown[], d: Damage): unknown[] {
  const out = receipts.map((r) => structuredClone(r));
  const n = out.length;
  if (n === 0) return d.op === 'insert-forged' ? [d.value] : out;
  const at = d.at % n;
  switch (d.op) {
    case 'set':
    case 'remove-field':
    case 'add-field': {
      const target = out[at];
      const paths = pathsOf(target);
      if (d.op === 'set' && paths.length === 0) {
        out[at] = d.value;
        return out;
      }
      if (d.op === 'add-field') {
        const objects = [[] as Path, ...paths].filter((p) => isRecord(valueAt(target, p)));
        if (objects.length === 0) return out;
        const obj = valueAt(target, objects[d.path % objects.length]!) as Record<string, unknown>;
        // defineProperty: an own "__proto__" field, as JSON.parse would make it.
        Object.defineProperty(obj, d.name, { value: d.value, enumerable: true, writable: true, configurable: true });
        return out;
      }
      if (paths.length === 0) return out;
      const p = paths[d.path % paths.length]!;
      const parent = parentOf(target, p);
      if (d.op === 'set') parent[p.at(-1)!] = d.value;
      else if (Array.isArray(parent)) parent.splice(Number(p.at(-1)), 1);
      else delete parent[p.at(-1)!];
      return out;
    }
    case 'swap': {
      const other = d.with % n;
      [out[at], out[other]] = [out[other], out[at]];
      return out;
    }
    case 'delete':
      out.splice(at, 1);
      return out;
    case 'insert-copy':
      out.splice(d.at % (n + 1), 0, structuredClone(out[d.of % n]));
      return out;
    case 'duplicate':
      out.splice(at + 1, 0, structuredClone(out[at]));
      return out;
    case 'insert-forged':
      out.splice(d.at % (n + 1), 0, structuredClone(d.value));
      return out;
  }
}

/** Canonical text of a stored receipt, or a marker for what has none (a function, a cycle…). */
function canonical(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return `<not JSON: ${String(value)}>`;
  }
}

/** The first index where `stored` stops being `genuine`; undefined when they are the same chain. */
function firstDifference(genuine: readonly unknown[], stored: readonly unknown[]): number | undefined {
  const common = Math.min(genuine.length, stored.length);
  for (let i = 0; i < common; i++) if (canonical(genuine[i]) !== canonical(stored[i])) return i;
  return genuine.length === stored.length ? undefined : common;
}

function verifyQuietly(receipts: unknown, options: Parameters<typeof verifyReceiptChain>[1] = {}): ReceiptChainVerification {
  try {
    return verifyReceiptChain(receipts, options);
  } catch (error) {
    throw new Error(`verifyReceiptChain threw: ${String(error)}`);
  }
}

function expectDamageAt(result: ReceiptChainVerification, position: number): void {
  expect(result.ok, 'the damage went unnoticed').toBe(false);
  if (result.ok) return;
  expect({ position: result.position }).toEqual({ position });
  expect(KINDS).toContain(result.kind);
  expect(result.message.length).toBeGreaterThan(10);
}

describe('tampered receipt chains', () => {
  it('naive tampering, one or several at once, is reported at the first position that differs (with a signed head)', () => {
    fc.assert(
      fc.property(chain, fc.array(damage, { minLength: 1, maxLength: 3 }), (receipts, damages) => {
        const head = headOf(receipts);
        expect(verifyQuietly(receipts, { head, keyring }).ok).toBe(true);
        const stored = damages.reduce<unknown[]>(applyDamage, receipts);
        const first = firstDifference(receipts, stored);
        fc.pre(first !== undefined);
        expectDamageAt(verifyQuietly(stored, { head, keyring }), first);
      }),
      { numRuns: 600 },
    );
  });

  it('without a head the same holds, except that a cut-off tail (a strict prefix) verifies, by construction', () => {
    fc.assert(
      fc.property(chain, fc.array(damage, { minLength: 1, maxLength: 3 }), (receipts, damages) => {
        const stored = damages.reduce<unknown[]>(applyDamage, receipts);
        const first = firstDifference(receipts, stored);
        fc.pre(first !== undefined);
        const result = verifyQuietly(stored);
        if (first === stored.length) expect(result).toMatchObject({ ok: true, length: stored.length });
        else expectDamageAt(result, first);
      }),
      { numRuns: 400 },
    );
  });

  it('an edited receipt whose hash the forger recomputed is reported at that receipt', () => {
    fc.assert(
      fc.property(chain, fc.nat(), entry, fc.boolean(), (receipts, pick, replacement, withHead) => {
        const at = pick % receipts.length;
        const stored = receipts.map((r) => structuredClone(r));
        const edited = { ...stored[at]!, entry: replacement };
        fc.pre(canonical(replacement) !== canonical(receipts[at]!.entry));
        stored[at] = { ...edited, hash: receiptHash(edited.seq, edited.prevHash, replacement) };
        const result = verifyQuietly(stored, withHead ? { head: headOf(receipts), keyring } : {});
        // The last receipt has no successor to betray it: only the signed head can.
        if (!withHead && at === receipts.length - 1) expect(result.ok).toBe(true);
        else expectDamageAt(result, at);
      }),
      { numRuns: 300 },
    );
  });

  it('a consistent rewrite of the whole rest of the chain is caught by the signed head, at the receipt it signed', () => {
    fc.assert(
      fc.property(chain, fc.nat(), entry, (receipts, pick, replacement) => {
        const from = pick % receipts.length;
        fc.pre(canonical(replacement) !== canonical(receipts[from]!.entry));
        const rewritten = chainOf([...receipts.slice(0, from).map((r) => r.entry), replacement, ...receipts.slice(from + 1).map((r) => r.entry)]);
        expect(verifyQuietly(rewritten).ok).toBe(true); // a hash chain alone cannot tell
        const result = verifyQuietly(rewritten, { head: headOf(receipts), keyring });
        expect(result).toMatchObject({ ok: false, kind: 'edited', position: receipts.length - 1 });
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on anything read back as a chain or a head', () => {
    const head = headOf(chainOf([{ eventId: 'e', customerRef: 'a'.repeat(64), type: 'T', outcomes: [], payloadDigest: 'b'.repeat(64), committedAt: 1 }]));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 5 })), fc.oneof(fc.constant(undefined), fc.constant(head), fc.anything()), (receipts, maybeHead) => {
        const result = verifyQuietly(receipts, maybeHead === undefined ? {} : { head: maybeHead, keyring });
        if (!result.ok) expect(KINDS).toContain(result.kind);
      }),
      { numRuns: 500 },
    );
  });
});
