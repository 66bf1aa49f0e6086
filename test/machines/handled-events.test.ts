import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handledRecord, handledRecordKey, handledRecordOf, migrateOrchestratorState, outcomeOf, reusesKey, type HandledEvent } from '../../machines/handled-events.ts';
import { eventDigest } from '../../src/marketplace/event-digest.ts';
import { migrateGovernorState, type CommittedOutcome } from '../../machines/governors/governor-kit.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';

/** States saved by the code before records (`handled` and `committed` lists in the contexts). */
const fixture = JSON.parse(readFileSync(new URL('../fixtures/handled-v1-states.json', import.meta.url), 'utf8')) as { states: Record<string, PersistedActorState> };
const contextOf = (state: PersistedActorState) => (state.snapshot as { context: Record<string, unknown> }).context;

describe('handled-event records', () => {
  it('a lifecycle event names its record by eventId; nothing else names one', () => {
    expect(handledRecordKey({ type: 'lifecycle', event: { eventId: 'e-1' } } as never)).toBe('e-1');
    expect(handledRecordKey({ type: 'lifecycle', event: { eventId: '' } } as never)).toBeUndefined();
    expect(handledRecordKey({ type: 'lifecycle', event: { eventId: 7 } } as never)).toBeUndefined();
    expect(handledRecordKey({ type: 'governor.reply' })).toBeUndefined();
  });

  it('reads the record handed over with the event; none is undefined', () => {
    expect(handledRecordOf({ type: 'lifecycle', $record: null } as never)).toBeUndefined();
    expect(handledRecordOf({ type: 'lifecycle' })).toBeUndefined();
    const record = { status: 'rejected', reason: 'no', at: 2, digest: 'd' };
    expect(handledRecordOf({ type: 'lifecycle', $record: record } as never)).toEqual(record);
    expect(outcomeOf(record as never)).toEqual({ status: 'rejected', reason: 'no', at: 2 });
  });

  it.each([
    ['a string', 'junk'],
    ['an unknown status', { status: 'maybe', at: 1 }],
    ['no time', { status: 'completed' }],
    ['a rejection without a reason', { status: 'rejected', at: 1 }],
    ['a digest that is a number', { status: 'completed', at: 1, digest: 5 }],
  ])('a record that is not one (%s) throws, never reads as "no record"', (_what, junk) => {
    expect(() => handledRecordOf({ type: 'lifecycle', event: { eventId: 'e-9' }, $record: junk } as never)).toThrow(/handled record of event "e-9" is not one/);
  });

  it('a reused key is a record with another digest; a record without a digest is never one', () => {
    const event = { eventId: 'e-1', customerId: 'c1', type: 'UsageRecorded', quantity: 2 };
    const whole = eventDigest(event);
    expect(reusesKey({ status: 'completed', at: 1, digest: 'a' }, event)).toBe(true);
    expect(reusesKey({ status: 'completed', at: 1, digest: whole }, event)).toBe(false);
    expect(reusesKey({ status: 'completed', at: 1 }, event)).toBe(false);
    expect(reusesKey(undefined, event)).toBe(false);
  });

  describe('records of events with personal fields keep them only under the salt', () => {
    /** An event as a test writes it: any fields beside its eventId. */
    type Ev = { eventId: string } & Record<string, unknown>;
    const salt = { salt: 'ab'.repeat(32), since: 0 };
    const event: Ev = { eventId: 'e-1', customerId: 'c1', type: 'CustomerSubscribes', sku: 'PRO', contact: { email: 'ada@example.com' } };
    const other = (fields: Record<string, unknown>): Ev => ({ ...event, ...fields });
    const record = handledRecord({ status: 'completed', at: 1 }, event, salt, 0);

    it('holds no unsalted digest the contact could be recovered from by trying emails', () => {
      const text = JSON.stringify(record);
      expect(text).not.toContain(eventDigest(event));
      expect(text).not.toContain('ada@example.com');
      // The content half is the same whatever the contact: it says nothing about it.
      expect(record.content).toBe(handledRecord({ status: 'completed', at: 1 }, other({ contact: { email: 'bob@example.com' } }), salt, 0).content);
    });

    it('the same event is a duplicate; other content, other contact or a contact dropped is a reused key', () => {
      expect(reusesKey(record, event, salt)).toBe(false);
      expect(reusesKey(record, other({ sku: 'BASIC' }), salt)).toBe(true);
      expect(reusesKey(record, other({ contact: { email: 'bob@example.com' } }), salt)).toBe(true);
      const { contact: _c, ...without } = event;
      expect(reusesKey(record, without as Ev, salt)).toBe(true);
      expect(reusesKey(handledRecord({ status: 'completed', at: 1 }, without as Ev, salt, 0), event, salt)).toBe(true);
    });

    it('without the salt (a producer before it sends) the content half alone is compared', () => {
      expect(reusesKey(record, other({ contact: { email: 'bob@example.com' } }))).toBe(false);
      expect(reusesKey(record, other({ sku: 'BASIC' }))).toBe(true);
    });

    it('after an erasure destroyed the salt, a resend is known by its content', () => {
      const later = { salt: 'cd'.repeat(32), since: 5 };
      expect(reusesKey(record, event, later)).toBe(false);
      expect(reusesKey(record, other({ sku: 'BASIC' }), later)).toBe(true);
      const unsalted = handledRecord({ status: 'completed', at: 1 }, event, undefined, 3);
      expect(unsalted.personal).toBe('[erased]');
      expect(reusesKey(unsalted, other({ contact: { email: 'x@example.com' } }), later)).toBe(false);
    });
  });
});

describe('migration of states saved with the `handled` and `committed` lists', () => {
  it('moves every handled record of an orchestrator state to the records, none lost, and the list out of the state', () => {
    const stored = fixture.states['Orchestrator']!;
    const handled = contextOf(stored).handled as HandledEvent[];
    expect(handled.length).toBeGreaterThan(30);
    const migrated = migrateOrchestratorState(stored)!;
    expect(Object.keys(migrated.records).sort()).toEqual(handled.map((h) => h.eventId).sort());
    // Each with its place in the order of decisions (the list held them all, so from 0).
    handled.forEach(({ eventId, ...record }, i) => expect(migrated.records[eventId]).toEqual({ ...record, seq: i }));
    expect(contextOf(migrated.state)).not.toHaveProperty('handled');
    expect(contextOf(migrated.state)).not.toHaveProperty('retention');
    expect(contextOf(migrated.state).stats).toEqual(contextOf(stored).stats);
    expect(migrateOrchestratorState(migrated.state)).toBeUndefined(); // once only
  });

  it("moves every governor's committed replies to the records (without their facts)", () => {
    for (const [kind, stored] of Object.entries(fixture.states)) {
      if (kind === 'Orchestrator') continue;
      const committed = contextOf(stored).committed as CommittedOutcome[];
      const migrated = migrateGovernorState(stored)!;
      expect(Object.keys(migrated.records).sort(), kind).toEqual(committed.map((c) => c.eventId).sort());
      for (const { eventId, reply } of committed) {
        const { facts: _facts, ...kept } = reply;
        expect(migrated.records[eventId]).toEqual(kept);
      }
      expect(contextOf(migrated.state)).not.toHaveProperty('committed');
      expect(contextOf(migrated.state).data).toEqual(contextOf(stored).data);
      expect(migrateGovernorState(migrated.state)).toBeUndefined();
    }
  });
});
