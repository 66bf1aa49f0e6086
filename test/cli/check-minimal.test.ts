import { describe, expect, it } from 'vitest';
import { minimalSequence, type MachineCheckModule } from '../../src/cli/check/machine.ts';
import * as broken from '../fixtures/broken-machine.ts';

const push = { type: 'push' };
const pop = { type: 'pop' };
const clear = { type: 'clear' };

describe('governor check --machine: the printed counterexample is 1-minimal', () => {
  it('drops every event the failure does not need, keeping the failing error', () => {
    // Fails (size 4) but carries a clear, a pop/push pair and a trailing pop it does not need.
    const sequence = [clear, push, pop, push, push, push, push, pop];
    const { events, error } = minimalSequence(broken as unknown as MachineCheckModule, sequence);
    expect(events).toEqual([push, push, push, push]);
    expect(error).toBe('after event 4 {"type":"push"}: state "open": size 4 is outside 0..3');
  });

  it('leaves a sequence that no longer fails alone and says so', () => {
    expect(minimalSequence(broken as unknown as MachineCheckModule, [push, pop])).toEqual({ events: [push, pop], error: 'the sequence no longer fails' });
  });
});
