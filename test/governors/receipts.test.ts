import { describe, expect, it } from 'vitest';
import { appendTo, emptyReceipts, verifyReceipts, type AppendMessage } from '../../machines/receipts.ts';
import { verifyReceiptChain } from '../../src/marketplace/receipt-verification.ts';
import { addPublicKey, emptyKeyring, signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';
import { createReceiptsMachine } from '../../machines/receipts.ts';
import { createNode, spawnStatem } from '../../src/index.ts';

const options = { pseudonymKey: 'receipts-test-key-0123456789', kept: 3 };
const message = (eventId: string): AppendMessage => ({
  type: 'append',
  eventId,
  customerId: 'alice@example.com',
  eventType: 'PaymentProcessed',
  occurredAt: '2026-01-05T10:00:00Z',
  committedAt: Date.parse('2026-01-05T10:00:03Z'),
  outcomes: [{ governor: 'Billing', status: 'applied' }],
});

function chain(ids: string[], kept = options.kept) {
  let context = emptyReceipts('alice@example.com');
  const archived = [];
  for (const id of ids) {
    const next = appendTo(context, message(id), { ...options, kept });
    context = next.context;
    archived.push(...next.archived);
  }
  return { context, archived };
}

describe('the Receipts chain', () => {
  it('chains every committed event once, without personal data', () => {
    const { context } = chain(['e1', 'e2', 'e1']);
    expect(context.receipts.map((r) => r.entry.eventId)).toEqual(['e1', 'e2']);
    expect(verifyReceipts(context)).toMatchObject({ ok: true, length: 2 });
    expect(JSON.stringify(context.receipts)).not.toContain('alice');
  });

  it('commits to the whole event: another amount is another digest, and the customer id is only its pseudonym', () => {
    const payment = (amount: string) => ({ type: 'PaymentProcessed', eventId: 'e1', customerId: 'alice@example.com', occurredAt: '2026-01-05T10:00:00Z', amount, currency: 'USD', paymentId: 'p1' });
    const receiptOf = (amount: string) => appendTo(emptyReceipts('alice@example.com'), { ...message('e1'), event: payment(amount) }, options).context.receipts[0]!;
    const small = receiptOf('5.00');
    const large = receiptOf('500000.00');
    expect(small.entry.payloadDigest).not.toBe(large.entry.payloadDigest);
    expect(receiptOf('5.00').entry.payloadDigest).toBe(small.entry.payloadDigest);
    // Without the event (a message from before it was sent), the digest covers what the message has.
    expect(appendTo(emptyReceipts('alice@example.com'), message('e1'), options).context.receipts[0]!.entry.payloadDigest).not.toBe(small.entry.payloadDigest);
    expect(JSON.stringify(small)).not.toContain('alice');
  });

  it("carries the orchestrator's commit time, not the producer's occurredAt", () => {
    const { context } = chain(['e1']);
    expect(context.receipts[0]!.entry.committedAt).toBe(Date.parse('2026-01-05T10:00:03Z'));
  });

  it('archives the oldest past the bound and still verifies from the anchor; the archive verifies from the genesis', () => {
    const { context, archived } = chain(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(context.receipts.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(context.anchor).toEqual({ seq: 1, hash: archived.at(-1)!.hash });
    expect(verifyReceipts(context)).toMatchObject({ ok: true });
    expect(verifyReceiptChain([...archived, ...context.receipts])).toMatchObject({ ok: true, length: 5 });
  });

  it('detects an edited receipt', () => {
    const { context } = chain(['e1', 'e2', 'e3']);
    const edited = { ...context, receipts: context.receipts.map((r, i) => (i === 1 ? { ...r, entry: { ...r.entry, type: 'CustomerCancels' } } : r)) };
    expect(verifyReceipts(edited)).toMatchObject({ ok: false, position: 1, kind: 'edited' });
  });

  it('refuses an entry that cannot be a receipt without crashing, and counts it', () => {
    const { context } = chain(['not a safe id']);
    expect([context.receipts.length, context.refused]).toEqual([0, 1]);
    expect(context.lastRefusal).toMatch(/eventId/);
  });

  it('signs its head on request, so a cut-off tail is detected too', async () => {
    const key = signingKeyFromSeed('heads', Buffer.alloc(32, 9));
    const node = createNode();
    const pid = spawnStatem(node, createReceiptsMachine({ ...options, kept: 100, signingKey: key }), { input: { key: 'alice@example.com' } });
    expect(await node.call(pid, { type: 'head', at: 1 })).toMatchObject({ error: expect.stringMatching(/empty/) });
    for (const id of ['e1', 'e2', 'e3']) node.cast(pid, { ...message(id) });
    const head = await node.call(pid, { type: 'head', at: 1_767_607_200_000 });
    const { receipts } = await node.call<{ receipts: unknown[] }>(pid, { type: 'receipts' });
    const keyring = addPublicKey(emptyKeyring(), key);
    expect(head).toMatchObject({ length: 3, kid: 'heads' });
    expect(JSON.stringify(head)).not.toContain('alice');
    expect(verifyReceiptChain(receipts, { head, keyring })).toMatchObject({ ok: true, length: 3 });
    expect(verifyReceiptChain(receipts.slice(0, 2), { head, keyring })).toMatchObject({ ok: false, kind: 'truncated' });
  });
});
