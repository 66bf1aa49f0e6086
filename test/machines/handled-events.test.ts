import { describe, expect, it } from 'vitest';
import { findHandled, outcomeRetention, recordHandled, type HandledEvent } from '../../machines/handled-events.ts';

const MINUTE = 60_000;
const done = (eventId: string, at: number): HandledEvent => ({ eventId, status: 'completed', at });

function fill(count: number, at: (i: number) => number, retention = outcomeRetention({ kept: 3, maxAgeMs: 60 * MINUTE })) {
  let handled: HandledEvent[] = [];
  for (let i = 0; i < count; i++) handled = recordHandled(handled, done(`e${i}`, at(i)), retention);
  return handled;
}

describe('handled-event records and their retention', () => {
  it('keeps every record younger than the duplicate window, whatever the count', () => {
    const handled = fill(10, (i) => i * 1_000);
    expect(handled.map((h) => h.eventId)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
  });

  it('beyond the window keeps the newest `kept` records, and none older than maxAgeMs', () => {
    const handled = fill(10, (i) => i * 10 * MINUTE);
    // Now is 90 min: e9 (0 min) is in the window; e8, e7 are the newest others; e6 is beyond `kept`.
    expect(handled.map((h) => h.eventId)).toEqual(['e7', 'e8', 'e9']);
    const aged = fill(3, (i) => i * 45 * MINUTE);
    expect(aged.map((h) => h.eventId)).toEqual(['e1', 'e2']); // e0 is 90 min old, past maxAgeMs
  });

  it('finds a record by eventId, with its outcome', () => {
    const handled = recordHandled([done('a', 1)], { eventId: 'b', status: 'rejected', reason: 'no', at: 2 }, outcomeRetention());
    expect(findHandled(handled, 'b')).toEqual({ eventId: 'b', status: 'rejected', reason: 'no', at: 2 });
    expect(findHandled(handled, 'c')).toBeUndefined();
  });

  it('keeps insertion order for eventIds that look like numbers', () => {
    const handled = fill(3, () => 0).map((h, i) => ({ ...h, eventId: String(3 - i) }));
    const next = recordHandled(handled, done('0', 0), outcomeRetention());
    expect(next.map((h) => h.eventId)).toEqual(['3', '2', '1', '0']);
  });
});
