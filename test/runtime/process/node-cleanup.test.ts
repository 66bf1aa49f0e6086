import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { KILL, MemoryTransport, createNode, reply, spawnStatem, sys, type Pid } from '../../../src/index.ts';
import { simulatedNode } from '../statem/helpers.ts';

// What a node leaves behind once something is over: a settled call keeps no timer, a refused
// link records nothing, a stopped node lets go of its name once and never of a successor's.

type Ev = { type: string; [key: string]: unknown };

const svc = setup({ types: {} as { events: Ev } }).createMachine({
  id: 'svc',
  on: { get: { actions: reply(() => 'ok') } },
});

describe('a call that is over', () => {
  it('keeps no timer, whether it was answered, its callee died or it had no callee', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    await expect(node.call(pid, { type: 'get' })).resolves.toBe('ok');
    expect(clock.pending).toBe(0);

    sys.suspend(node, pid);
    const waiting = node.call('svc', { type: 'get' }, { timeout: 60_000 });
    expect(clock.pending).toBe(1);
    node.exit(pid, KILL);
    await expect(waiting).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'killed' });
    expect(clock.pending).toBe(0);

    await expect(node.call('svc', { type: 'get' })).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'noproc' });
    expect(clock.pending).toBe(0);
  });
});

describe('a call without a timeout (Infinity)', () => {
  it('sets no timer at all, so nothing keeps the process alive for it, and is still answered', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, svc);
    sys.suspend(node, pid);
    const waiting = node.call(pid, { type: 'get' }, { timeout: Infinity });
    expect(clock.pending).toBe(0);
    sys.resume(node, pid);
    await expect(waiting).resolves.toBe('ok');
  });
});

describe('a call to a pid that has exited', () => {
  it('fails with noproc and counts as undelivered, like any message to a dead pid', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc);
    node.exit(pid, KILL);
    const before = node.stats.undelivered;
    await expect(node.call(pid, { type: 'get' })).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'noproc' });
    expect(node.stats.undelivered).toBe(before + 1);
  });
});

describe('a call to a local name nobody holds', () => {
  it('fails at once with noproc naming it, without being sent: nothing counted undelivered, no timer', async () => {
    const { node, clock } = simulatedNode();
    for (const to of ['nobody', { name: 'nobody', node: node.name }]) {
      const call = node.call(to, { type: 'get' });
      expect(clock.pending).toBe(0);
      await expect(call).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'noproc', message: expect.stringContaining('nobody') });
    }
    expect(node.stats.undelivered).toBe(0);
  });
});

describe('a link to something that is not a pid', () => {
  it('is refused with a TypeError before either side records anything', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    for (const [a, b] of [
      [pid, 'svc'],
      ['svc', pid],
    ] as [Pid, Pid][]) {
      expect(() => node.link(a, b)).toThrow(`link(${a}, ${b}): both ends must be pids`);
    }
    expect(sys.getStatus(node, pid).links).toEqual([]);
    expect(node.isAlive(pid)).toBe(true);
  });
});

describe('a node stopped twice', () => {
  it('lets go of its name on the transport once: a node that took the name since keeps it', async () => {
    const transport = new MemoryTransport();
    const first = createNode({ name: 'a', transport });
    const other = createNode({ name: 'b', transport });
    await first.stop();
    const successor = createNode({ name: 'a', transport });
    const pid = spawnStatem(successor, svc, { name: 'svc' });
    await first.stop();
    await expect(other.call({ name: 'svc', node: 'a' }, { type: 'get' })).resolves.toBe('ok');
    expect(successor.isAlive(pid)).toBe(true);
    await Promise.all([successor.stop(), other.stop()]);
  });
});
