import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { castTo, spawnStatem, sys } from '../../../src/index.ts';
import { simulatedNode } from '../statem/helpers.ts';

type Ev = { type: string; [key: string]: unknown };

/** Every message a receiver handles, in the order the node ran them, across receivers. */
function receivers() {
  const handled: string[] = [];
  const receiver = setup({ types: {} as { events: Ev; input: string; context: { name: string } } }).createMachine({
    id: 'receiver',
    context: ({ input }) => ({ name: input }),
    on: { n: { actions: ({ context }) => void handled.push(context.name) } },
  });
  return { handled, receiver };
}

/** On `go`, casts `counts[name]` messages to each named process, all in one step. */
function flooder(counts: Record<string, number>) {
  const casts = Object.entries(counts).flatMap(([to, count]) => Array.from({ length: count }, () => castTo(to, { type: 'n' })));
  return setup({ types: {} as { events: Ev } }).createMachine({ id: 'flooder', on: { go: { actions: casts } } });
}

/** Runs of the same receiver: `['a','a','b']` → `[['a', 2], ['b', 1]]`. */
function runs(handled: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (const name of handled) {
    const last = out.at(-1);
    if (last && last[0] === name) last[1]++;
    else out.push([name, 1]);
  }
  return out;
}

describe('the run queue', () => {
  it('lets a process handle at most 64 messages before the others with work get their turn', () => {
    const { node } = simulatedNode();
    const { handled, receiver } = receivers();
    spawnStatem(node, receiver, { name: 'a', input: 'a' });
    spawnStatem(node, receiver, { name: 'b', input: 'b' });
    const sender = spawnStatem(node, flooder({ a: 150, b: 10 }));
    node.cast(sender, { type: 'go' });
    // a's 150 messages are taken 64 at a time, and b, which had work all along, goes in between.
    expect(runs(handled)).toEqual([
      ['a', 64],
      ['b', 10],
      ['a', 86],
    ]);
  });

  it('takes turns between busy processes until every mailbox is empty, in the order they got work', () => {
    const { node } = simulatedNode();
    const { handled, receiver } = receivers();
    spawnStatem(node, receiver, { name: 'a', input: 'a' });
    spawnStatem(node, receiver, { name: 'b', input: 'b' });
    const sender = spawnStatem(node, flooder({ a: 130, b: 100 }));
    node.cast(sender, { type: 'go' });
    expect(runs(handled)).toEqual([
      ['a', 64],
      ['b', 64],
      ['a', 64],
      ['b', 36],
      ['a', 2],
    ]);
  });
});

describe('a process that used its whole slice and emptied its mailbox', () => {
  it('is not kept in the run queue: mail that comes later puts it behind those that got work first', () => {
    const { node } = simulatedNode();
    const { handled, receiver } = receivers();
    spawnStatem(node, receiver, { name: 'a', input: 'a' });
    spawnStatem(node, receiver, { name: 'd', input: 'd' });
    // Runs after a's 64 messages: work for d first, then one more for a.
    const relay = setup({ types: {} as { events: Ev } }).createMachine({
      id: 'relay',
      on: { relay: { actions: [castTo('d', { type: 'n' }), castTo('a', { type: 'n' })] } },
    });
    spawnStatem(node, relay, { name: 'relay' });
    const sender = spawnStatem(
      node,
      setup({ types: {} as { events: Ev } }).createMachine({
        id: 'sender',
        on: { go: { actions: [...Array.from({ length: 64 }, () => castTo('a', { type: 'n' })), castTo('relay', { type: 'relay' })] } },
      }),
    );
    node.cast(sender, { type: 'go' });
    expect(runs(handled)).toEqual([
      ['a', 64],
      ['d', 1],
      ['a', 1],
    ]);
  });
});

describe('a process suspended while it waits its turn', () => {
  it('handles nothing of the mail it already had until resumed, then all of it in order', () => {
    const { node } = simulatedNode();
    const { handled, receiver } = receivers();
    const a = spawnStatem(node, receiver, { name: 'a', input: 'a' });
    // In one step: three messages for a (a joins the run queue), then a is suspended before its turn.
    const suspender = setup({ types: {} as { events: Ev } }).createMachine({
      id: 'suspender',
      on: { go: { actions: [castTo('a', { type: 'n' }), castTo('a', { type: 'n' }), castTo('a', { type: 'n' }), () => sys.suspend(node, a)] } },
    });
    node.cast(spawnStatem(node, suspender), { type: 'go' });
    expect(handled).toEqual([]);
    expect(sys.statistics(node, a).mailboxLength).toBe(3);
    sys.resume(node, a);
    expect(handled).toEqual(['a', 'a', 'a']);
  });
});

