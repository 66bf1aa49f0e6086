import { describe, expect, it } from 'vitest';
import { assign, createMachine } from 'xstate';
import { createNode, isPid, nodeOfPid, spawnStatem, sys } from '../../../src/index.ts';

const idle = createMachine({ id: 'idle' });
const counter = createMachine({ id: 'counter', context: { n: 0 }, on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } } });

describe('pids', () => {
  it('are `<node.serial>`, new for every process, and name the node they live on', async () => {
    const node = createNode({ name: 'shop-1:eu_west@host' });
    const [a, b] = [spawnStatem(node, idle), spawnStatem(node, idle)];
    expect(a).toMatch(/^<shop-1:eu_west@host\.\d+>$/);
    expect(b).not.toBe(a);
    expect(isPid(a)).toBe(true);
    expect(nodeOfPid(a)).toBe('shop-1:eu_west@host');
    await node.stop();
  });

  it('are told from registered names: a name may hold dots or end with ">", but never starts with "<"', () => {
    for (const name of ['svc', 'v1.2', 'svc>', 'a.b>', '', '<', '<a.b', '<ab>']) expect(isPid(name), name).toBe(false);
    for (const notText of [undefined, null, 42, { name: '<a.1>' }]) expect(isPid(notText)).toBe(false);
    expect(isPid('<a.1>')).toBe(true);
  });

  it('in the name of a { name, node } address reach nobody: it names a registered name, never a pid', () => {
    const node = createNode({ name: 'n1' });
    const pid = spawnStatem(node, counter);
    node.cast({ name: pid, node: 'n1' }, { type: 'inc' });
    node.send({ name: pid, node: 'n1' }, { type: 'inc' });
    expect(node.stats.undelivered).toBe(2);
    expect(sys.getState(node, pid)).toMatchObject({ context: { n: 0 } });
  });
});

describe('node names', () => {
  it('take letters, digits, "_", "@", ":" and "-", and nothing else (a pid must say where it lives)', async () => {
    for (const bad of ['', 'a.b', 'a b', 'n<1>', 'ü']) {
      expect(() => createNode({ name: bad }), JSON.stringify(bad)).toThrow(
        `node name "${bad}" must use only letters, digits, "_", "@", ":" and "-"`,
      );
    }
    const node = createNode();
    expect(node.name).toBe('nonode');
    await node.stop();
  });
});
