/* global console, process */
// The BullMQ transport from ./redis on the Redis in REDIS_URL (keys under GOVERNOR_PREFIX): an
// entity's call handled through the queues and committed with the Lua scripts the package ships.
import { setup, assign } from 'xstate';
import { reply } from '@governorjs/governor';
import { startBullmqNode } from '@governorjs/governor/redis';

const counter = setup({}).createMachine({
  context: { n: 0 },
  on: { add: { actions: [assign({ n: ({ context }) => context.n + 1 }), reply(({ context }) => context.n)] } },
});

const { node, stop } = await startBullmqNode({
  url: process.env.REDIS_URL,
  prefix: process.env.GOVERNOR_PREFIX,
  partitions: 2,
  kinds: [{ kind: 'Counter', machine: counter }],
});
const first = await node.call({ entity: 'Counter', key: 'k-1' }, { type: 'add' });
const second = await node.call({ entity: 'Counter', key: 'k-1' }, { type: 'add' });
await stop();
console.log(JSON.stringify({ first, second }));
