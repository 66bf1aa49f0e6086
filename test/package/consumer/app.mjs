/* global console */
// The README's supervised actor ("A supervised gen_statem actor"), as plain JavaScript in a project
// that installed the package: imports by the package's name only, and ends without process.exit.
import { setup, assign } from 'xstate';
import { createNode, startSupervisor, worker, reply, sys } from '@governorjs/governor';

const door = setup({}).createMachine({
  id: 'door',
  context: { opened: 0 },
  initial: 'closed',
  on: { count: { actions: reply(({ context }) => context.opened) } },
  states: {
    closed: { on: { open: { target: 'open', actions: assign({ opened: ({ context }) => context.opened + 1 }) } } },
    open: { meta: { stateTimeout: { ms: 10_000, event: 'close' } }, on: { close: 'closed' } },
  },
});

const node = createNode();
const sup = startSupervisor(node, {
  strategy: 'one_for_one', intensity: 3, period: 5,
  children: [worker('front-door', door, { name: 'front-door' })],
});

node.cast('front-door', { type: 'open' });
const count = await node.call('front-door', { type: 'count' });
const tree = sys.tree(node, sup);
await node.stop(); // the open door's 10 s state timeout goes with it: nothing keeps the process alive
console.log(JSON.stringify({ count, door: tree.children[0].stateValue }));
