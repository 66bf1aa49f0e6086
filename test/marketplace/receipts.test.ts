import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  appendReceipt,
  eventDigest,
  GENESIS_HASH,
  GENESIS_TIP,
  pseudonymiseCustomer,
  ReceiptEntrySchema,
  receiptHash,
  tipOf,
  type Receipt,
  type ReceiptEntry,
} from '../../src/marketplace/receipts.ts';
import { signChainHead, verifyChainHead, type SignedChainHead } from '../../src/marketplace/receipt-head.ts';
import { verifyReceiptChain, type ChainDamageKind } from '../../src/marketplace/receipt-verification.ts';
import { addPublicKey, emptyKeyring, generateSigningKey, rotateKeyring } from '../../src/marketplace/signing-keys.ts';
import { InvalidArgumentError } from '../../src/marketplace/errors.ts';
import { validEvent } from './event-examples.ts';

const key = generateSigningKey('audit-1', { random: () => new Uint8Array(32).fill(11) });
const keyring = addPublicKey(emptyKeyring(), key);
const pseudonymKey = 'a-service-wide-pseudonym-key-of-32b';

function entry(i: number, customer = `cust-${i % 3}`): ReceiptEntry {
  return {
    eventId: `evt-${i}`,
    customerRef: pseudonymiseCustomer(customer, pseudonymKey),
    type: i % 2 === 0 ? 'PaymentProcessed' : 'RenewalDue',
    outcomes: [
      { governor: 'Billing', outcome: 'applied' },
      { governor: 'Entitlement', outcome: i % 5 === 0 ? 'rejected' : 'applied', ...(i % 5 === 0 ? { reasonCode: 'delinquent' } : {}) },
    ],
    payloadDigest: eventDigest(validEvent('RenewalDue', { eventId: `evt-${i}` })),
    committedAt: 1_740_000_000_000 + i * 1_000,
  };
}

function chainOf(length: number): Receipt[] {
  const receipts: Receipt[] = [];
  let tip = GENESIS_TIP;
  for (let i = 0; i < length; i += 1) {
    const receipt = appendReceipt(tip, entry(i));
    receipts.push(receipt);
    tip = tipOf(receipt);
  }
  return receipts;
}

function headOf(receipts: Receipt[]): SignedChainHead {
  return signChainHead({ chainId: 'audit', tip: tipOf(receipts.at(-1)!), signedAt: 1_750_000_000_000 }, key);
}

/** Recomputes hashes from `from` on, as a forger who cannot sign heads would. */
function rehashFrom(receipts: Receipt[], from: number): Receipt[] {
  const out = receipts.slice(0, from);
  let tip = from === 0 ? GENESIS_TIP : tipOf(out[from - 1]!);
  for (const r of receipts.slice(from)) {
    const next = { seq: tip.seq + 1, prevHash: tip.hash, hash: receiptHash(tip.seq + 1, tip.hash, r.entry), entry: r.entry };
    out.push(next);
    tip = tipOf(next);
  }
  return out;
}

describe('building a chain', () => {
  it('starts at 64 zeros and links every receipt to the previous hash', () => {
    const receipts = chainOf(4);
    expect(receipts[0]!.prevHash).toBe(GENESIS_HASH);
    expect(receipts.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < receipts.length; i += 1) expect(receipts[i]!.prevHash).toBe(receipts[i - 1]!.hash);
    expect(verifyReceiptChain(receipts, { head: headOf(receipts), keyring })).toEqual({ ok: true, length: 4, tip: tipOf(receipts[3]!) });
    expect(verifyReceiptChain([])).toMatchObject({ ok: true, length: 0 });
  });

  it('hashes the canonical encoding: key order of the entry does not matter', () => {
    const e = entry(1);
    const reordered = Object.fromEntries(Object.entries(e).reverse()) as ReceiptEntry;
    expect(receiptHash(0, GENESIS_HASH, reordered)).toBe(receiptHash(0, GENESIS_HASH, e));
  });

  it('refuses entries carrying raw text where references belong', () => {
    expect(() => appendReceipt(GENESIS_TIP, { ...entry(0), customerRef: 'Jane Doe <jane@example.com>' })).toThrow(InvalidArgumentError);
    expect(() => appendReceipt(GENESIS_TIP, { ...entry(0), extra: 'x' } as ReceiptEntry)).toThrow(InvalidArgumentError);
    expect(() =>
      appendReceipt(GENESIS_TIP, { ...entry(0), outcomes: [{ governor: 'Billing', outcome: 'rejected', reasonCode: 'card declined by Jane' }] }),
    ).toThrow(/reasonCode/);
  });

  it('takes exactly the entries the schema takes, and records them as the schema gives them back', () => {
    // appendReceipt checks the orchestrator's usual entry by hand (zod's parse was a share of a
    // node's CPU per event): whatever it takes or refuses, and the entry it records, must be the
    // schema's, byte for byte (key order included: the journal stores the entry as JSON).
    // A valid entry with one field (or one outcome's field) changed to an edge of the schema.
    const id = fc.constantFrom('evt-1', 'a:b.c-1', 'constructor', 'prototype', '', '_x', 'x'.repeat(128), 'x'.repeat(129), 'Jane Doe', undefined, 7);
    const edges: Record<string, fc.Arbitrary<unknown>> = {
      eventId: id,
      customerRef: fc.oneof(id, fc.constantFrom('b'.repeat(64), 'B'.repeat(64), 'b'.repeat(63))),
      type: fc.constantFrom('PaymentProcessed', '1Bad', 'a'.repeat(64), 'a'.repeat(65), ''),
      payloadDigest: fc.constantFrom('b'.repeat(64), 'B'.repeat(64), 'b'.repeat(65)),
      committedAt: fc.constantFrom(-1, 0, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER, 2 ** 53, '1'),
      extra: fc.constant(1),
      outcomes: fc.constantFrom('none', [], Array.from({ length: 9 }, () => ({ governor: 'Billing', outcome: 'applied' }))),
    };
    const outcomeEdges: Record<string, fc.Arbitrary<unknown>> = {
      governor: fc.constantFrom('Billing', 'MultiTenant', 'Receipts', undefined),
      outcome: fc.constantFrom('applied', 'conflict', 'done', undefined),
      reasonCode: id,
      note: fc.constant('x'),
    };
    const entries = fc.oneof(
      fc.tuple(fc.nat(50), fc.constantFrom(...Object.keys(edges))).chain(([i, field]) => edges[field]!.map((value) => ({ ...entry(i), [field]: value }))),
      fc.tuple(fc.nat(50), fc.constantFrom(...Object.keys(outcomeEdges))).chain(([i, field]) =>
        outcomeEdges[field]!.map((value) => {
          const e = entry(i);
          return { ...e, outcomes: [e.outcomes[0]!, { ...e.outcomes[1]!, [field]: value }] };
        }),
      ),
    );
    let taken = 0;
    fc.assert(
      fc.property(entries, (candidate) => {
        const schema = ReceiptEntrySchema.safeParse(candidate);
        let recorded: ReceiptEntry | undefined;
        try {
          recorded = appendReceipt(GENESIS_TIP, candidate as ReceiptEntry).entry;
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
        expect(recorded !== undefined).toBe(schema.success);
        if (schema.success) {
          taken++;
          expect(JSON.stringify(recorded)).toBe(JSON.stringify(schema.data));
          expect(recorded).not.toBe(candidate);
        }
      }),
      { numRuns: 3_000, seed: 16 },
    );
    expect(taken).toBeGreaterThan(300);
  });
});

describe('damage is detected with its position and kind', () => {
  const receipts = chainOf(8);
  const head = headOf(receipts);

  const cases: Array<[string, () => unknown[], number, ChainDamageKind]> = [
    ['an edited outcome', () => receipts.map((r, i) => (i === 3 ? { ...r, entry: { ...r.entry, outcomes: [] } } : r)), 3, 'edited'],
    ['an edited time', () => receipts.map((r, i) => (i === 5 ? { ...r, entry: { ...r.entry, committedAt: 1 } } : r)), 5, 'edited'],
    ['an edited and re-hashed receipt', () => {
      const copy = [...receipts];
      const e = { ...copy[2]!.entry, eventId: 'evt-forged' };
      copy[2] = { ...copy[2]!, entry: e, hash: receiptHash(2, copy[2]!.prevHash, e) };
      return copy;
    }, 2, 'edited'],
    ['an edited link', () => receipts.map((r, i) => (i === 4 ? { ...r, prevHash: GENESIS_HASH } : r)), 4, 'edited'],
    ['a deleted receipt', () => receipts.filter((_, i) => i !== 4), 4, 'deleted'],
    ['the first receipt deleted', () => receipts.slice(1), 0, 'deleted'],
    ['two receipts swapped', () => [receipts[0], receipts[2], receipts[1], ...receipts.slice(3)], 1, 'reordered'],
    ['a receipt moved to the end', () => [...receipts.slice(0, 2), ...receipts.slice(3), receipts[2]], 2, 'reordered'],
    ['a duplicated receipt', () => [...receipts.slice(0, 3), receipts[2], ...receipts.slice(3)], 3, 'reordered'],
    ['a cut-off tail', () => receipts.slice(0, 5), 5, 'truncated'],
    ['a tail cut off and re-hashed', () => rehashFrom(receipts.slice(0, 6), 0), 6, 'truncated'],
    ['a rewrite of the whole chain', () => rehashFrom(receipts.map((r, i) => (i === 1 ? { ...r, entry: { ...r.entry, committedAt: 2 } } : r)), 0), 7, 'edited'],
    ['a receipt that is not a receipt', () => receipts.map((r, i) => (i === 6 ? { ...r, seq: '6' } : r)), 6, 'malformed'],
    ['a receipt with an extra field', () => receipts.map((r, i) => (i === 1 ? { ...r, note: 'x' } : r)), 1, 'malformed'],
  ];

  it.each(cases)('%s', (_name, damage, position, kind) => {
    const result = verifyReceiptChain(damage(), { head, keyring });
    expect(result).toMatchObject({ ok: false, position, kind });
    if (!result.ok) expect(result.message.length).toBeGreaterThan(10);
  });

  it('a cut-off tail is invisible without a signed head (why heads are signed)', () => {
    expect(verifyReceiptChain(receipts.slice(0, 5)).ok).toBe(true);
  });

  it('bad_signature for a forged, altered or foreign head', () => {
    const flipped = { ...head, signature: head.signature.startsWith('A') ? `B${head.signature.slice(1)}` : `A${head.signature.slice(1)}` };
    expect(verifyReceiptChain(receipts, { head: flipped, keyring })).toMatchObject({ ok: false, kind: 'bad_signature', position: 7 });
    const shortened = { ...head, length: 5, headHash: receipts[4]!.hash };
    expect(verifyReceiptChain(receipts.slice(0, 5), { head: shortened, keyring })).toMatchObject({ ok: false, kind: 'bad_signature' });
    const stranger = generateSigningKey('audit-1', { random: () => new Uint8Array(32).fill(12) });
    const foreign = signChainHead({ chainId: 'audit', tip: tipOf(receipts[7]!), signedAt: 0 }, stranger);
    expect(verifyReceiptChain(receipts, { head: foreign, keyring })).toMatchObject({ ok: false, kind: 'bad_signature' });
    const unknown = signChainHead({ chainId: 'audit', tip: tipOf(receipts[7]!), signedAt: 0 }, generateSigningKey('audit-9'));
    expect(verifyReceiptChain(receipts, { head: unknown, keyring })).toMatchObject({ ok: false, kind: 'bad_signature' });
  });

  it.each([[null], [42], ['receipts'], [{ length: 1 }]])('malformed input %j is reported, not thrown', (input) => {
    expect(verifyReceiptChain(input)).toMatchObject({ ok: false, kind: 'malformed', position: 0 });
  });

  it('a malformed head is reported, not thrown; a head without a keyring is a caller bug', () => {
    expect(verifyReceiptChain(receipts, { head: { ...head, v: 2 }, keyring })).toMatchObject({ ok: false, kind: 'malformed' });
    expect(verifyReceiptChain(receipts, { head: 'head', keyring })).toMatchObject({ ok: false, kind: 'malformed' });
    expect(() => verifyReceiptChain(receipts, { head })).toThrow(InvalidArgumentError);
  });

  it('heads signed by a retired key still verify after rotation', () => {
    const rotated = rotateKeyring(keyring, generateSigningKey('audit-2'));
    expect(verifyReceiptChain(receipts, { head, keyring: rotated }).ok).toBe(true);
    expect(verifyChainHead(head, rotated).ok).toBe(true);
  });

  it('a signed head may lag behind the chain (receipts appended since)', () => {
    const earlier = headOf(receipts.slice(0, 3));
    expect(verifyReceiptChain(receipts, { head: earlier, keyring }).ok).toBe(true);
  });
});

describe('retained suffix and GDPR erasure', () => {
  it('verifies a suffix from an anchor after older receipts were archived', () => {
    const receipts = chainOf(10);
    const anchor = tipOf(receipts[3]!);
    expect(verifyReceiptChain(receipts.slice(4), { anchor, head: headOf(receipts), keyring })).toMatchObject({ ok: true, length: 6 });
    expect(verifyReceiptChain(receipts.slice(5), { anchor })).toMatchObject({ ok: false, kind: 'deleted', position: 0 });
    expect(verifyReceiptChain(receipts.slice(4), { anchor: { seq: 3, hash: GENESIS_HASH } })).toMatchObject({
      ok: false,
      kind: 'edited',
      position: 0,
    });
  });

  it('erasing a customer leaves the chain verifiable and holding no personal data', () => {
    // Each customer has its own pseudonym key: erasure destroys the key (crypto-shredding).
    const customerKeys = new Map([
      ['jane.doe@example.com', 'jane-pseudonym-key-0123456789'],
      ['john.roe@example.com', 'john-pseudonym-key-0123456789'],
    ]);
    const personalData = new Map([['jane.doe@example.com', { name: 'Jane Doe', card: '4242' }]]);
    let tip = GENESIS_TIP;
    const receipts: Receipt[] = [];
    for (const [i, customer] of ['jane.doe@example.com', 'john.roe@example.com', 'jane.doe@example.com'].entries()) {
      const r = appendReceipt(tip, { ...entry(i), customerRef: pseudonymiseCustomer(customer, customerKeys.get(customer)!) });
      receipts.push(r);
      tip = tipOf(r);
    }
    const head = headOf(receipts);
    const stored = JSON.stringify(receipts);
    expect(stored).not.toContain('jane');
    expect(stored).not.toContain('Jane');
    const janeRef = pseudonymiseCustomer('jane.doe@example.com', customerKeys.get('jane.doe@example.com')!);
    expect(receipts.filter((r) => r.entry.customerRef === janeRef)).toHaveLength(2);

    personalData.delete('jane.doe@example.com');
    customerKeys.delete('jane.doe@example.com');

    expect(verifyReceiptChain(JSON.parse(stored), { head, keyring })).toMatchObject({ ok: true, length: 3 });
  });

  it('refuses weak pseudonym keys', () => {
    expect(() => pseudonymiseCustomer('c', 'short')).toThrow(InvalidArgumentError);
  });
});

describe('property: random chains with random damage', () => {
  type Damage =
    | { kind: 'edit'; at: number; field: 'eventId' | 'type' | 'outcome' | 'committedAt' | 'customerRef' }
    | { kind: 'rehash-edit'; at: number }
    | { kind: 'delete'; at: number }
    | { kind: 'swap'; at: number; with: number }
    | { kind: 'truncate'; keep: number }
    | { kind: 'head-signature'; at: number };

  const damageFor = (length: number): fc.Arbitrary<Damage> =>
    fc.oneof(
      fc.record({
        kind: fc.constant('edit' as const),
        at: fc.nat(length - 1),
        field: fc.constantFrom('eventId' as const, 'type' as const, 'outcome' as const, 'committedAt' as const, 'customerRef' as const),
      }),
      fc.record({ kind: fc.constant('rehash-edit' as const), at: fc.nat(length - 1) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(length - 1) }),
      // `with` is drawn from the other positions (a filter could never be satisfied for one receipt)
      fc.record({ kind: fc.constant('swap' as const), at: fc.nat(length - 1), other: fc.nat(Math.max(0, length - 2)) }).map(
        ({ kind, at, other }) => ({ kind, at, with: other >= at ? other + 1 : other }),
      ),
      fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat(length - 1) }),
      fc.record({ kind: fc.constant('head-signature' as const), at: fc.nat(85) }),
    );

  function apply(receipts: Receipt[], head: SignedChainHead, damage: Damage): { receipts: unknown[]; head: unknown } {
    const copy: Receipt[] = receipts.map((r) => structuredClone(r));
    switch (damage.kind) {
      case 'edit': {
        const e = copy[damage.at]!.entry as Record<string, unknown>;
        if (damage.field === 'eventId') e.eventId = `${String(e.eventId)}x`;
        if (damage.field === 'type') e.type = e.type === 'RenewalDue' ? 'PaymentFailed' : 'RenewalDue';
        if (damage.field === 'outcome') copy[damage.at]!.entry.outcomes[0]!.outcome = 'conflict';
        if (damage.field === 'committedAt') e.committedAt = Number(e.committedAt) + 1;
        if (damage.field === 'customerRef') e.customerRef = 'f'.repeat(64);
        return { receipts: copy, head };
      }
      case 'rehash-edit': {
        const r = copy[damage.at]!;
        r.entry.committedAt += 1;
        r.hash = receiptHash(r.seq, r.prevHash, r.entry);
        return { receipts: copy, head };
      }
      case 'delete':
        return { receipts: copy.filter((_, i) => i !== damage.at), head };
      case 'swap': {
        const a = copy[damage.at]!;
        copy[damage.at] = copy[damage.with]!;
        copy[damage.with] = a;
        return { receipts: copy, head };
      }
      case 'truncate':
        return { receipts: copy.slice(0, damage.keep), head };
      case 'head-signature': {
        const sig = Buffer.from(head.signature, 'base64url');
        sig[damage.at % sig.length]! ^= 1 << (damage.at % 8);
        return { receipts: copy, head: { ...head, signature: sig.toString('base64url') } };
      }
    }
  }

  function expectedKind(damage: Damage, length: number): ChainDamageKind {
    switch (damage.kind) {
      case 'edit':
      case 'rehash-edit':
        return 'edited';
      case 'delete':
        return damage.at === length - 1 ? 'truncated' : 'deleted';
      case 'swap':
        return 'reordered';
      case 'truncate':
        return 'truncated';
      case 'head-signature':
        return 'bad_signature';
    }
  }

  function expectedPosition(damage: Damage, length: number): number {
    switch (damage.kind) {
      case 'edit':
      case 'rehash-edit':
        return damage.at;
      case 'delete':
        return damage.at === length - 1 ? length - 1 : damage.at;
      case 'swap':
        return Math.min(damage.at, damage.with);
      case 'truncate':
        return damage.keep;
      case 'head-signature':
        return length - 1;
    }
  }

  it('every damage is detected, at the right position and with the right kind', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 25 }).chain((length) => fc.tuple(fc.constant(length), damageFor(length))),
        ([length, damage]) => {
          const receipts = chainOf(length);
          const head = headOf(receipts);
          expect(verifyReceiptChain(receipts, { head, keyring }).ok).toBe(true);
          const damaged = apply(receipts, head, damage);
          const result = verifyReceiptChain(damaged.receipts, { head: damaged.head, keyring });
          expect(result).toMatchObject({ ok: false, kind: expectedKind(damage, length), position: expectedPosition(damage, length) });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('without a head, every damage except a cut-off tail is still detected', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 25 }).chain((length) => fc.tuple(fc.constant(length), damageFor(length))),
        ([length, damage]) => {
          fc.pre(damage.kind !== 'truncate' && damage.kind !== 'head-signature');
          fc.pre(!(damage.kind === 'delete' && damage.at === length - 1));
          fc.pre(!(damage.kind === 'rehash-edit' && damage.at === length - 1));
          const receipts = chainOf(length);
          const damaged = apply(receipts, headOf(receipts), damage);
          expect(verifyReceiptChain(damaged.receipts).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
