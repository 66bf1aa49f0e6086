import { describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { isMessageIdOf, lifecycleMessageRefusal, messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { messageRefusal } from '../../src/runtime/message-acceptance.ts';
import { validEvent } from './event-examples.ts';

const to = { entity: 'Orchestrator', key: 'cust-42' };
const orchestrator = marketplaceKinds({ pseudonymKey: 'a-test-pseudonym-key' }).find((kind) => kind.kind === 'Orchestrator')!;
const refusal = (event: Record<string, unknown>, id?: string, t: 'cast' | 'call' = 'cast') =>
  messageRefusal(orchestrator.kind, orchestrator.accepts, to, t === 'call' ? { t, to, from: { node: 'n', ref: 'r' }, event: event as never } : { t, to, event: event as never }, id);

describe("the Orchestrator's lifecycle messages from outside", () => {
  it('takes a valid event, wrapped, under its message id', () => {
    const event = validEvent('CustomerSubscribes');
    expect(refusal({ type: 'lifecycle', event, receivedAt: 1 }, 'ev.cust-42/evt-0001')).toBeUndefined();
    expect(refusal({ type: 'lifecycle', event })).toBeUndefined(); // in memory: no message id
  });

  it('names the field, the rule and the value of an invalid event', () => {
    expect(refusal({ type: 'lifecycle', event: validEvent('CustomerSubscribes', { tier: 'Professional' }) })).toBe(
      '$.event.tier: must be one of "community", "professional", "enterprise" (enum), got "Professional"',
    );
    expect(refusal({ type: 'lifecycle', event: validEvent('CustomerSubscribes', { type: 'Bogus' }) })).toMatch(/^\$\.event\.type: unknown event type; expected one of CustomerSubscribes, .* \(unknown_event_type\), got "Bogus"$/);
    expect(refusal({ type: 'lifecycle', event: validEvent('RenewalDue'), receivedAt: -1 })).toBe('$.receivedAt: must be ≥ 0 (minimum), got -1');
  });

  it('refuses a bare event, saying how to wrap it', () => {
    expect(refusal(validEvent('CustomerSubscribes'))).toMatch(/takes lifecycle events wrapped: \{ type: "lifecycle", event: \{ type: "CustomerSubscribes", … \} \}/);
    expect(refusal({ type: 'Bogus' })).toMatch(/Orchestrator takes no "Bogus" messages/);
    expect(refusal({ type: 'constructor' })).toMatch(/Orchestrator takes no "constructor" messages/);
  });

  it("refuses an event sent to another customer's orchestrator", () => {
    expect(refusal({ type: 'lifecycle', event: validEvent('RenewalDue', { customerId: 'cust-43' }) })).toMatch(
      /^\$\.event\.customerId: must be the key of the Orchestrator it is sent to, "cust-42" \(key_mismatch\), got "cust-43"/,
    );
  });

  it('refuses a cast under a message id of another event; a call carries its caller\'s id', () => {
    const event = validEvent('RenewalDue');
    expect(refusal({ type: 'lifecycle', event }, 'm-1')).toBe('id: must be messageIdOf(event), "ev.cust-42/evt-0001" (ev.<customerId>/<eventId>, ":" written "|") (message_id), got "m-1"');
    expect(refusal({ type: 'lifecycle', event }, 'ev.cust-42/evt-0001.retry1')).toBeUndefined();
    expect(refusal({ type: 'lifecycle', event }, 'm-1', 'call')).toBeUndefined();
  });

  it('messageIdOf writes ":" as "|"; a resend may add a suffix of safe characters', () => {
    const event = { customerId: 'acme:eu', eventId: 'pay:1' };
    expect(messageIdOf(event)).toBe('ev.acme|eu/pay|1');
    expect(isMessageIdOf('ev.acme|eu/pay|1', event)).toBe(true);
    expect(isMessageIdOf('ev.acme|eu/pay|1.r2', event)).toBe(true);
    expect(isMessageIdOf('ev.acme|eu/pay|1x', event)).toBe(false);
    expect(isMessageIdOf('ev.acme|eu/pay|1.r 2', event)).toBe(false);
    expect(lifecycleMessageRefusal({ type: 'lifecycle', event: validEvent('RenewalDue') }, to, { t: 'info', id: 'ev.cust-42/evt-0001' })).toBeUndefined();
  });
});
