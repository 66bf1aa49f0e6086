import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { spawnStatem, stop, sys, type ExitReason } from '../../../src/index.ts';
import { simulatedNode, watch } from '../statem/helpers.ts';

// A process keeps its first link inline and a set only from the second on (pid-set.ts): what a
// user sees must not depend on how many links it has.

type Ev = { type: string; reason?: ExitReason };

const proc = setup({ types: {} as { events: Ev } }).createMachine({
  id: 'proc',
  on: { stop: { actions: stop(({ event }: { event: Ev }) => event.reason) } },
});

describe('a process with several links', () => {
  it('keeps every one, in the order they were made, and its crash reaches them all', () => {
    const { node } = simulatedNode();
    const hub = spawnStatem(node, proc);
    const peers = [spawnStatem(node, proc), spawnStatem(node, proc), spawnStatem(node, proc), spawnStatem(node, proc)];
    for (const peer of peers) node.link(hub, peer);
    node.link(hub, peers[0]!); // again: still one link
    expect(sys.getStatus(node, hub).links).toEqual(peers);
    const seen = peers.map((peer) => watch(node, peer));
    node.cast(hub, { type: 'stop', reason: 'boom' });
    expect(seen.map((s) => s.reason)).toEqual(['boom', 'boom', 'boom', 'boom']);
  });

  it('loses only the one unlinked; unlinking a pid it was never linked to changes nothing', () => {
    const { node } = simulatedNode();
    const [a, b, c, stranger] = [spawnStatem(node, proc), spawnStatem(node, proc), spawnStatem(node, proc), spawnStatem(node, proc)];
    node.link(a, b);
    node.unlink(a, stranger);
    expect(sys.getStatus(node, a).links).toEqual([b]);
    node.link(a, c);
    node.unlink(a, stranger);
    node.unlink(a, b);
    expect(sys.getStatus(node, a).links).toEqual([c]);
    node.unlink(a, c);
    expect(sys.getStatus(node, a).links).toEqual([]);
    node.cast(a, { type: 'stop', reason: 'boom' });
    expect([b, c, stranger].map((pid) => node.isAlive(pid))).toEqual([true, true, true]);
  });
});
