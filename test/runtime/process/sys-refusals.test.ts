import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { spawnStatem, startSupervisor, stopProcess, sys } from '../../../src/index.ts';
import { simulatedNode } from '../statem/helpers.ts';
import { stubborn } from '../supervisor/helpers.ts';

const toggle = createMachine({ id: 'toggle', initial: 'off', states: { off: {}, on: {} } });

describe('sys on a supervisor', () => {
  it('get_status has no timers, no postponed events and no unhandled count to show', () => {
    const { node } = simulatedNode();
    const sup = startSupervisor(node, { children: [] });
    expect(sys.getStatus(node, sup)).toMatchObject({
      kind: 'supervisor',
      status: 'running',
      timers: [],
      postponed: 0,
      statistics: { unhandled: 0 },
    });
  });

  it('get_status says busy while it waits for a child to shut down', async () => {
    const { node, clock } = simulatedNode();
    const sup = startSupervisor(node, { children: [stubborn('s', 1_000)] });
    const stopping = stopProcess(node, sup, 'shutdown');
    expect(sys.getStatus(node, sup).status).toBe('busy');
    clock.advance(1_000);
    await stopping;
  });

  it('replace_state and changeState are refused, naming the process and its kind', () => {
    const { node } = simulatedNode();
    const sup = startSupervisor(node, { children: [] });
    const expected = `replace_state works on gen_statem actors; ${sup} is a supervisor`;
    expect(() => sys.replaceState(node, sup, (s) => s)).toThrow(expected);
    expect(() => sys.changeState(node, sup, { value: 'on' })).toThrow(expected);
  });
});

describe('changeState to a state value the machine does not have', () => {
  it('says which machine and which value, with the machine’s own error as cause', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, toggle);
    let thrown: unknown;
    try {
      sys.changeState(node, pid, { value: 'dimmed' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'STATE_VALUE_UNKNOWN' });
    expect((thrown as Error).message).toMatch(/^toggle has no state "dimmed": ./);
    expect((thrown as Error).cause).toBeInstanceOf(Error);
    expect(sys.getState(node, pid)).toMatchObject({ value: 'off' });
  });
});
