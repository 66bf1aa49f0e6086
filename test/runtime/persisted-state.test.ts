/**
 * A stored state is checked before an actor is brought back from it (it comes from a store or
 * another node): anything but an object is refused at once, and a state with problems is refused
 * naming every one of them.
 */
import { describe, expect, it } from 'vitest';
import { PERSISTED_STATE_VERSION, checkPersistedState } from '../../src/runtime/persisted-state.ts';

const good = { version: PERSISTED_STATE_VERSION, machine: 'm', snapshot: {}, timers: [{ name: 't', kind: 'state', deadline: 5, event: { type: 'go' } }], postponed: [] };

function refusal(state: unknown): string | undefined {
  try {
    checkPersistedState(state, 'm');
  } catch (error) {
    if (error instanceof TypeError) return error.message;
    throw error;
  }
  return undefined;
}

describe('a stored state', () => {
  it('of this machine and version, well formed, is taken', () => {
    expect(refusal(good)).toBeUndefined();
    for (const kind of ['state', 'event', 'generic', 'delay']) expect(refusal({ ...good, timers: [{ ...good.timers[0], kind }] })).toBeUndefined();
  });

  it.each([null, undefined, 'state', 7])('that is not an object (%s) is refused at once', (state) => {
    expect(refusal(state)).toBe('cannot restore an actor: its persisted state must be an object');
  });

  it('with problems is refused naming each of them', () => {
    const bad = { ...good, version: 2, timers: [{ name: 't', kind: 'cron', deadline: '5', event: { type: 'go' } }], postponed: [{ type: 1 }] };
    expect(refusal(bad)).toBe(
      'cannot restore an actor from this state: version is 2, expected 1 (migrate it first); ' +
        'timers[0].kind must be one of state, event, generic, delay; timers[0].deadline must be a finite time; ' +
        'postponed[0] must be an event with a string type',
    );
  });
});
