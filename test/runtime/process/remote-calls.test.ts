import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { MemoryTransport, SimulatedClock, createNode, reply, spawnStatem, sys } from '../../../src/index.ts';

type Ev = { type: string };

const svc = setup({ types: {} as { events: Ev } }).createMachine({ id: 'svc', on: { get: { actions: reply(() => 1) } } });

function cluster() {
  const transport = new MemoryTransport();
  const clock = new SimulatedClock();
  return { a: createNode({ name: 'a', transport, clock }), b: createNode({ name: 'b', transport, clock }), clock };
}

describe('a call across nodes that is over', () => {
  it('leaves no monitor on the callee once answered, by pid or by { name, node }', async () => {
    const { a, b } = cluster();
    const pid = spawnStatem(b, svc, { name: 'svc' });
    for (let i = 0; i < 3; i++) {
      await expect(a.call(pid, { type: 'get' })).resolves.toBe(1);
      await expect(a.call({ name: 'svc', node: 'b' }, { type: 'get' })).resolves.toBe(1);
    }
    expect(sys.getStatus(b, pid).monitoredBy).toBe(0);
  });

  it('leaves no monitor on the callee once timed out', async () => {
    const { a, b, clock } = cluster();
    const pid = spawnStatem(b, svc, { name: 'svc' });
    sys.suspend(b, pid);
    const byPid = a.call(pid, { type: 'get' }, { timeout: 100 });
    const byName = a.call({ name: 'svc', node: 'b' }, { type: 'get' }, { timeout: 100 });
    expect(sys.getStatus(b, pid).monitoredBy).toBe(2);
    clock.advance(100);
    await expect(byPid).rejects.toMatchObject({ code: 'CALL_TIMEOUT' });
    await expect(byName).rejects.toMatchObject({ code: 'CALL_TIMEOUT' });
    expect(sys.getStatus(b, pid).monitoredBy).toBe(0);
  });
});
