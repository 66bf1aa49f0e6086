/**
 * The personal-data rules of the governors and of the receipts, unit by unit: where a contact is
 * kept, what erasure removes and refuses, and that receipts commit to a contact only under a
 * salt that erasure destroys.
 */
import { describe, expect, it } from 'vitest';
import { complianceGovernor } from '../../machines/governors/compliance.ts';
import { customerAccountGovernor } from '../../machines/governors/customer-account.ts';
import { appendTo, emptyReceipts, type AppendMessage, type ReceiptsContext } from '../../machines/receipts.ts';
import { sha256Hex, canonicalJson } from '../../src/marketplace/canonical-json.ts';
import { ERASED, contactCommitment, erasureEventId, redactPersonal, withCommittedContact } from '../../src/marketplace/personal-data.ts';
import { parseLifecycleEventJson } from '../../src/marketplace/event-validation.ts';
import { checkRow, ev, given } from '../governors/domain-support.ts';

const CONTACT = { name: 'Ada Lovelace', email: 'ada@example.com', address: '12 St James Square, London', taxId: 'GB123456789' };
const subscribe = (contact: Record<string, unknown> | undefined = CONTACT, at = 0) => ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional', ...(contact ? { contact } : {}) }, at);
const erase = () => ev('CustomerErasureRequested', { requestedBy: 'ops.dpo' });
const suspend = () => ev('ManualSuspension', { reason: 'Ada called about fraud review', actor: 'ops' });

describe('the event schema', () => {
  it('takes a contact on CustomerSubscribes and an erasure request', () => {
    const base = { eventId: 'e1', customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z' };
    expect(parseLifecycleEventJson(JSON.stringify({ ...base, type: 'CustomerSubscribes', sku: 'PRO', tier: 'professional', contact: CONTACT })).ok).toBe(true);
    expect(parseLifecycleEventJson(JSON.stringify({ ...base, type: 'CustomerErasureRequested', requestedBy: 'ops.dpo' })).ok).toBe(true);
  });

  it.each([
    ['an empty contact', {}],
    ['an unknown contact field', { phone: '+44' }],
    ['an email without @', { email: 'ada.example.com' }],
    ['a name with a newline', { name: 'Ada\nLovelace' }],
  ])('refuses %s', (_name, contact) => {
    const result = parseLifecycleEventJson(JSON.stringify({ eventId: 'e1', customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z', type: 'CustomerSubscribes', sku: 'PRO', tier: 'professional', contact }));
    expect(result.ok).toBe(false);
  });
});

describe('CustomerAccount keeps the personal-data record', () => {
  it('records the contact a subscription gives', () => {
    expect(given(customerAccountGovernor, [subscribe()]).data.contact).toEqual(CONTACT);
  });

  it('a later subscribe with a new contact replaces it; one without keeps it', () => {
    const other = { email: 'ada@lovelace.org' };
    checkRow(customerAccountGovernor, { name: 'replace', history: [subscribe()], event: subscribe(other, 1), status: 'applied', state: 'Active', check: (d) => expect(d.contact).toEqual(other) });
    checkRow(customerAccountGovernor, { name: 'keep', history: [subscribe()], event: subscribe(undefined, 1), status: 'not_applicable' });
    checkRow(customerAccountGovernor, { name: 'same', history: [subscribe()], event: subscribe({ ...CONTACT }, 1), status: 'not_applicable' });
  });

  it('erasure removes the contact and a suspension’s free-text reason, and keeps the standing', () => {
    const erased = given(customerAccountGovernor, [subscribe(), suspend(), erase()]);
    expect([erased.state, erased.data.contact, erased.data.holdReason, erased.data.hold]).toEqual(['UnderReview', null, ERASED, 'review']);
  });

  it('a second erasure finds nothing to erase', () => {
    checkRow(customerAccountGovernor, { name: 'twice', history: [subscribe(), erase()], event: erase(), status: 'not_applicable', reason: /no personal data/ });
  });

  it('a state saved before the record existed reads as holding none', () => {
    const old = given(customerAccountGovernor, [subscribe(undefined)]);
    const { contact: _none, ...data } = old.data;
    expect(customerAccountGovernor.decide(old.state, data, erase(), 'c1').status).toBe('not_applicable');
  });
});

describe('Compliance decides erasure', () => {
  it('erases at once from Compliant, keeping only the fact', () => {
    checkRow(complianceGovernor, { name: 'erase', history: [subscribe()], event: erase(), status: 'applied', state: 'Erased', check: (d) => expect(d.erased).toBe(true) });
  });

  it('refuses it under a legal hold (an open audit), saying why', () => {
    checkRow(complianceGovernor, { name: 'hold', history: [subscribe(), suspend()], event: erase(), status: 'rejected', reason: /^LEGAL_HOLD: a compliance audit is open/ });
  });

  it('a second erasure is not applicable', () => {
    checkRow(complianceGovernor, { name: 'twice', history: [subscribe(), erase()], event: erase(), status: 'not_applicable' });
  });

  it('a customer who subscribes again after erasure is Compliant again', () => {
    checkRow(complianceGovernor, { name: 'again', history: [subscribe(), erase()], event: subscribe(CONTACT, 2), status: 'applied', state: 'Compliant' });
  });
});

describe('receipts commit to a contact under a salt that erasure destroys', () => {
  const SALT = 'ab'.repeat(32);
  const options = { pseudonymKey: 'a-test-pseudonym-key-0123456789', newSalt: () => SALT };
  const message = (event: Record<string, unknown>, n: number): AppendMessage => ({
    type: 'append',
    eventId: String(event.eventId) + n,
    customerId: 'c1',
    eventType: String(event.type),
    occurredAt: String(event.occurredAt),
    event,
    committedAt: n,
    outcomes: [],
  });

  it('the digest is of the event with the contact as an HMAC under the salt, and no plain hash of it matches', () => {
    const event = { ...subscribe(), customerId: 'c1' } as Record<string, unknown>;
    const { context, receipt } = appendTo(emptyReceipts('c1'), message(event, 1), options);
    expect(context.personalSalt).toBe(SALT);
    const unsalted = sha256Hex(canonicalJson({ contact: CONTACT }));
    expect(JSON.stringify(receipt)).not.toContain('ada@example.com');
    expect(JSON.stringify(receipt)).not.toContain(unsalted);
    // Recomputable with the salt (while it exists): what an auditor holding the record can check.
    expect(withCommittedContact(event, SALT).contact).toBe(contactCommitment(CONTACT, SALT));
    expect(withCommittedContact(event, null).contact).toBe(ERASED);
    expect(contactCommitment(CONTACT, SALT)).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(contactCommitment(CONTACT, SALT)).not.toBe(contactCommitment(CONTACT, 'cd'.repeat(32)));
  });

  it('the erasure’s receipt destroys the salt; receipts before it are unchanged', () => {
    let context: ReceiptsContext = emptyReceipts('c1');
    const first = appendTo(context, message({ ...subscribe(), customerId: 'c1' }, 1), options);
    context = first.context;
    const erasure = appendTo(context, message({ ...erase(), customerId: 'c1' }, 2), options);
    expect(erasure.receipt).toBeDefined();
    expect(erasure.context.personalSalt).toBeNull();
    expect(erasure.receipt!.prevHash).toBe(first.receipt!.hash);
  });

  it('a contact after erasure gets a new salt (a new relationship, a new record)', () => {
    const salts = ['11'.repeat(32), '22'.repeat(32)];
    const fresh = { ...options, newSalt: () => salts.shift()! };
    let context = appendTo(emptyReceipts('c1'), message({ ...subscribe(), customerId: 'c1' }, 1), fresh).context;
    context = appendTo(context, message({ ...erase(), customerId: 'c1' }, 2), fresh).context;
    context = appendTo(context, message({ ...subscribe(), customerId: 'c1' }, 3), fresh).context;
    expect(context.personalSalt).toBe('22'.repeat(32));
  });

  it('refuses a salt that is not 32 bytes of hex', () => {
    expect(() => contactCommitment(CONTACT, 'short')).toThrow(/64 hex digits/);
  });
});

describe('redaction of stored copies', () => {
  it('replaces every contact and reason, at any depth, and counts them', () => {
    const job = { v: 1, env: { event: { type: 'prepare', event: { ...subscribe(), reason: 'x' } } }, list: [{ contact: CONTACT }] };
    const { value, redacted } = redactPersonal(job);
    expect(redacted).toBe(3);
    expect(JSON.stringify(value)).not.toMatch(/Ada|ada@|GB123/);
    expect(redactPersonal(value).redacted).toBe(0);
  });

  it('gives one erasure event id per customer and generation', () => {
    expect(erasureEventId('c1', 3)).toBe(erasureEventId('c1', 3));
    expect(erasureEventId('c1', 3)).not.toBe(erasureEventId('c2', 3));
    expect(erasureEventId('c1', 3)).not.toBe(erasureEventId('c1', 4));
    expect(erasureEventId('x'.repeat(128), 10 ** 9).length).toBeLessThanOrEqual(128);
  });
});
