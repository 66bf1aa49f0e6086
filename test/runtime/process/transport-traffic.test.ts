import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { EntityHost, KILL, MemoryTransport, SimulatedClock, createNode, reply, spawnStatem, sys, type Envelope } from '../../../src/index.ts';

// What a node hands its transport. On a durable transport every envelope is a queued job (a Redis
// round trip), so a node sends only what another node needs: nothing between its own processes,
// and nothing more for a call than the call, its monitor and the demonitor that takes it down.

/** A memory transport that keeps, in order, `from→to type` of every envelope it carries between nodes. */
class RecordingTransport extends MemoryTransport {
  readonly sent: string[] = [];
  override send(node: string, envelope: Envelope): void {
    this.sent.push(`${node} ${envelope.t}`);
    super.send(node, envelope);
  }
  override routeEntity(from: Parameters<MemoryTransport['routeEntity']>[0], envelope: Envelope): void {
    this.sent.push(`entity ${envelope.t}`);
    super.routeEntity(from, envelope);
  }
}

type Ev = { type: string };
const svc = setup({ types: {} as { events: Ev } }).createMachine({ id: 'svc', on: { get: { actions: reply(() => 'ok') } } });

function cluster() {
  const transport = new RecordingTransport();
  const clock = new SimulatedClock();
  return { transport, clock, a: createNode({ name: 'a', transport, clock }), b: createNode({ name: 'b', transport, clock }) };
}

describe('what a node hands its transport', () => {
  it('nothing for messages, calls, links, monitors and exits between its own processes', async () => {
    const { transport, a } = cluster();
    const [x, y] = [spawnStatem(a, svc, { name: 'x' }), spawnStatem(a, svc)];
    a.cast(x, { type: 'get' });
    a.send('x', { type: 'get' });
    await expect(a.call(x, { type: 'get' })).resolves.toBe('ok');
    await expect(a.call({ name: 'x', node: 'a' }, { type: 'get' })).resolves.toBe('ok');
    a.link(x, y);
    a.monitor(x, y);
    a.exit(x, 'shutdown');
    expect(a.isAlive(y)).toBe(false);
    expect(transport.sent).toEqual([]);
  });

  it('for a call answered on another node: the monitor and the call, then the reply, then the demonitor', async () => {
    const { transport, a, b } = cluster();
    const pid = spawnStatem(b, svc);
    await expect(a.call(pid, { type: 'get' })).resolves.toBe('ok');
    expect(transport.sent).toEqual(['b monitor', 'b call', 'a reply', 'b demonitor']);
  });

  it('for a call whose callee on another node died: no demonitor after its DOWN (the monitor is gone with it)', async () => {
    const { transport, a, b } = cluster();
    const pid = spawnStatem(b, svc);
    sys.suspend(b, pid);
    const call = a.call(pid, { type: 'get' });
    b.exit(pid, KILL);
    await expect(call).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'killed' });
    expect(transport.sent).toEqual(['b monitor', 'b call', 'a down']);
  });

  it('for a call to a process on another node that has exited: one DOWN noproc back, for the monitor', async () => {
    const { transport, a, b } = cluster();
    const pid = spawnStatem(b, svc);
    b.exit(pid, KILL);
    await expect(a.call(pid, { type: 'get' })).rejects.toMatchObject({ code: 'CALL_EXIT', reason: 'noproc' });
    expect(transport.sent).toEqual(['b monitor', 'a down', 'b call']);
  });

  it('for a call to an entity: the call alone, never a monitor (an entity is spawned on arrival), and the entity keeps none', async () => {
    const transport = new RecordingTransport();
    const node = createNode({ name: 'a', transport, clock: new SimulatedClock() });
    const host = new EntityHost(node, [{ kind: 'Svc', machine: svc }]);
    const address = { entity: 'Svc', key: 'k' };
    await expect(node.call(address, { type: 'get' })).resolves.toBe('ok');
    expect(transport.sent).toEqual(['entity call']);
    expect(sys.getStatus(node, host.pidOf(address)!).monitoredBy).toBe(0);
  });
});

// What a transport may hand a node late: a DOWN that crossed the demonitor or the watcher's exit on
// the way (a durable transport delivers it after the fact), or an entity message where no host is.
describe('what a node takes from its transport', () => {
  it('a DOWN for a call or monitor callback already over is dropped', async () => {
    const { a, b } = cluster();
    const pid = spawnStatem(b, svc);
    await expect(a.call(pid, { type: 'get' })).resolves.toBe('ok');
    const ref = a.monitor(pid, () => {
      throw new Error('called after its demonitor');
    });
    a.demonitor(ref, pid);
    expect(() => a.deliver({ t: 'down', to: { node: 'a', ref }, ref, pid, reason: 'killed' })).not.toThrow();
    expect(() => a.deliver({ t: 'down', to: { node: 'a', ref: 'a#999' }, ref: 'a#999', pid, reason: 'killed' })).not.toThrow();
  });

  it('a DOWN for a watcher that has exited is dropped and counted undelivered', () => {
    const { a, b } = cluster();
    const [watcher, target] = [spawnStatem(a, svc), spawnStatem(b, svc)];
    a.exit(watcher, KILL);
    const before = a.stats.undelivered;
    expect(() => a.deliver({ t: 'down', to: watcher, ref: 'b#1', pid: target, reason: 'killed' })).not.toThrow();
    expect(a.stats.undelivered).toBe(before + 1);
  });

  it('a message for an entity on a node that hosts no entities at all is dropped and counted, not handed back', () => {
    const transport = new (class extends RecordingTransport {
      readonly handedBack: Envelope[] = [];
      undeliverable(envelope: Envelope): void {
        this.handedBack.push(envelope);
      }
    })();
    const node = createNode({ name: 'a', transport, clock: new SimulatedClock() });
    expect(() => node.cast({ entity: 'Svc', key: 'k' }, { type: 'get' })).not.toThrow();
    expect(node.stats.undelivered).toBe(1);
    expect(transport.handedBack).toEqual([]);
  });
});

