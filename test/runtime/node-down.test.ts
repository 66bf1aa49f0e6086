import { assign, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createNode, MemoryTransport, Node, spawnStatem, sys } from '../../src/index.ts';

const idle = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });

// The kernel, not a transport, keeps links and monitors: a transport that sees a node die tells
// the node (`nodeDown`), and the node fires them with `noconnection`, as Erlang's nodedown does.
describe('Node.nodeDown', () => {
  it('fires links and monitors to the lost node with noconnection, and leaves the others alone', async () => {
    const transport = new MemoryTransport();
    const here = createNode({ name: 'here', transport });
    const there = createNode({ name: 'there', transport });
    const elsewhere = createNode({ name: 'elsewhere', transport });
    const remote = spawnStatem(there, idle);
    const untouched = spawnStatem(elsewhere, idle);
    // Keeps what it hears: the EXIT and DOWN events, with their reasons.
    const listener = setup({ types: { context: {} as { heard: string[] }, events: {} as { type: string; reason?: unknown } } }).createMachine({
      context: { heard: [] },
      on: { '*': { actions: assign({ heard: ({ context, event }) => [...context.heard, `${event.type} ${String(event.reason)}`] }) } },
    });
    const local = spawnStatem(here, listener, { trapExit: true });
    here.link(local, remote);
    here.link(local, untouched);
    here.monitor(remote, local);
    here.monitor(untouched, local);

    here.nodeDown('there');
    await here.settle();

    expect((sys.getState(here, local) as { context: { heard: string[] } }).context.heard.sort()).toEqual(['DOWN noconnection', 'EXIT noconnection']);
    // Only the link to the lost node is gone; the other node and its link are untouched.
    expect([...(here.processOf(local)!.links ?? [])]).toEqual([untouched]);
    expect(elsewhere.isAlive(untouched)).toBe(true);
    for (const node of [here, there, elsewhere]) await node.stop();
  });

  it('ends a process that does not trap exits and is linked to the lost node', async () => {
    const transport = new MemoryTransport();
    const here = createNode({ name: 'here', transport });
    const there = createNode({ name: 'there', transport });
    const remote = spawnStatem(there, idle);
    const local = spawnStatem(here, idle);
    here.link(local, remote);
    here.nodeDown('there');
    await here.settle();
    expect(here.isAlive(local)).toBe(false);
    expect(there.isAlive(remote)).toBe(true);
    for (const node of [here, there]) await node.stop();
  });

  it('leaves alone local processes with no link or monitor at all, and links and monitors between local processes', async () => {
    const transport = new MemoryTransport();
    const here = createNode({ name: 'here', transport });
    const there = createNode({ name: 'there', transport });
    const loner = spawnStatem(here, idle);
    const [a, b] = [spawnStatem(here, idle), spawnStatem(here, idle)];
    here.link(a, b);
    here.monitor(b, a);
    here.nodeDown('there');
    await here.settle();
    expect([loner, a, b].map((pid) => here.isAlive(pid))).toEqual([true, true, true]);
    expect(sys.getStatus(here, b).monitoredBy).toBe(1);
    for (const node of [here, there]) await node.stop();
  });
});

describe('new Node without a transport', () => {
  it('is refused with what to do: the kernel knows no concrete transport', () => {
    expect(() => new Node({} as never)).toThrow(/needs options\.transport: use createNode/);
  });

  it('is refused with what to do when given no options at all (plain JavaScript)', () => {
    expect(() => new Node(undefined as never)).toThrow(/needs options\.transport: use createNode/);
  });
});
