/**
 * What the runtime replaces in XState (children, sending to other actors, `self.send`) is refused
 * with an UnsupportedMachineFeatureError whose message names the feature and says what to use
 * instead; what it keeps (the `log` action) goes to the node's logger.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromPromise, log, sendTo, setup, spawnChild, stopChild } from 'xstate';
import { SimulatedClock, UnsupportedMachineFeatureError, createNode, spawnStatem } from '../../../src/index.ts';
import { simulatedNode, watch } from './helpers.ts';

describe('a refused XState feature says what to use instead', () => {
  it('invoke, naming the state that declares it', () => {
    const { node } = simulatedNode();
    const machine = createMachine({ id: 'inv', initial: 'a', states: { a: { invoke: { src: fromPromise(async () => 1) } } } });
    expect(() => spawnStatem(node, machine)).toThrow(
      new UnsupportedMachineFeatureError('invoke (state "inv.a")', 'start the child under a supervisor and talk to it with castTo/callTo'),
    );
    expect(() => spawnStatem(node, machine)).toThrow(
      'invoke (state "inv.a") is not supported in Governor actors: start the child under a supervisor and talk to it with castTo/callTo',
    );
  });

  const child = createMachine({ id: 'child' });
  const peer = createActor(createMachine({ id: 'peer' }));
  it.each([
    ['spawnChild', setup({ actors: { child } }).createMachine({ id: 'sc', on: { go: { actions: spawnChild('child') } } }), 'spawning XState children is not supported in Governor actors: start children under a supervisor'],
    ['sendTo an actor ref', createMachine({ id: 'st', on: { go: { actions: sendTo(() => peer, { type: 'hi' }) } } }), 'sendTo/sendParent/forwardTo is not supported in Governor actors: use castTo, sendInfo or callTo from governor'],
    ['stopChild of an actor ref', createMachine({ id: 'sr', on: { go: { actions: stopChild(() => peer) } } }), 'stopping XState children is not supported in Governor actors: terminate children through their supervisor'],
    [
      'self.send in an action',
      createMachine({
        id: 'ss',
        on: {
          go: {
            actions: ({ self }) => {
              self.send({ type: 'again' });
            },
          },
        },
      }),
      'self.send is not supported in Governor actors: use nextEvent or castTo',
    ],
  ])('%s crashes the actor, saying so', (_label, machine, message) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.down).toBe(true);
    expect(seen.reason).toBeInstanceOf(UnsupportedMachineFeatureError);
    expect((seen.reason as Error).message).toBe(message);
  });
});

describe('the log action', () => {
  it('writes to the node’s logger, at info, with what the machine logged', () => {
    const lines: { fields: unknown; message: string }[] = [];
    const logger = { info: (fields: unknown, message: string) => lines.push({ fields, message }), error: () => {}, warn: () => {}, debug: () => {} };
    const node = createNode({ clock: new SimulatedClock(), logger: logger as never });
    const pid = spawnStatem(node, createMachine({ id: 'talker', on: { go: { actions: log('hello') } } }));
    node.cast(pid, { type: 'go' });
    expect(lines).toEqual([{ fields: { args: ['hello'] }, message: 'machine log' }]);
  });
});
