/**
 * The runtime benchmark (SPEC §6): messages through supervised gen_statem actors against plain
 * XState actors doing the same transitions; crash-to-restarted-and-answering latency under a
 * one_for_one supervisor; heap per idle actor against a plain XState actor.
 */
import { assign, createActor, setup } from 'xstate';
import { createNode, reply, startChild, startSupervisor, worker, type Pid } from '../src/index.ts';
import { bestOf, percentile, retainedBytes, round } from './stats.ts';

const ACTORS = 100;
const MESSAGES = 300_000;
const RESTARTS = 3_000;
const IDLE_ACTORS = 10_000;

/** A nine-state ring with a guard and an entry `assign`: the shape of the orchestrator's loop. */
const ring = setup({
  types: {} as { context: { laps: number; steps: number }; events: { type: 'next' } | { type: 'ping' } | { type: 'crash' } },
  guards: { open: ({ context }) => context.steps >= 0 },
}).createMachine({
  id: 'ring',
  context: { laps: 0, steps: 0 },
  initial: 's0',
  on: {
    ping: { actions: reply('pong') },
    crash: {
      actions: () => {
        throw new Error('crash');
      },
    },
  },
  states: Object.fromEntries(
    Array.from({ length: 9 }, (_, i) => [
      `s${i}`,
      {
        entry: assign({ steps: ({ context }) => context.steps + 1, laps: ({ context }) => (i === 0 ? context.laps + 1 : context.laps) }),
        on: { next: { target: `s${(i + 1) % 9}`, guard: 'open' } },
      },
    ]),
  ),
});

async function governorRate(): Promise<number> {
  const node = createNode({ name: 'bench' });
  const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [worker('ring', ring)] });
  const pids: Pid[] = [];
  for (let i = 0; i < ACTORS; i++) {
    const started = await startChild(node, sup, []);
    if (!started.ok || !started.pid) throw new Error('could not start a ring actor');
    pids.push(started.pid);
  }
  const event = { type: 'next' };
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) node.cast(pids[i % ACTORS]!, event);
  const elapsed = performance.now() - start;
  await node.stop();
  return (MESSAGES / elapsed) * 1000;
}

function xstateRate(): number {
  const actors = Array.from({ length: ACTORS }, () => createActor(ring).start());
  const event = { type: 'next' } as const;
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) actors[i % ACTORS]!.send(event);
  const elapsed = performance.now() - start;
  for (const actor of actors) actor.stop();
  return (MESSAGES / elapsed) * 1000;
}

async function restartLatencies(): Promise<number[]> {
  const node = createNode({ name: 'restarts' });
  startSupervisor(node, {
    strategy: 'one_for_one',
    intensity: RESTARTS * 10,
    period: 1,
    children: [worker('victim', ring, { name: 'victim' })],
  });
  const samples: number[] = [];
  for (let i = 0; i < RESTARTS + 200; i++) {
    const start = process.hrtime.bigint();
    node.cast('victim', { type: 'crash' });
    await node.call('victim', { type: 'ping' });
    const micros = Number(process.hrtime.bigint() - start) / 1000;
    if (i >= 200) samples.push(micros); // the first ones warm the JIT up
  }
  await node.stop();
  return samples.sort((a, b) => a - b);
}

async function governorBytesPerActor(): Promise<number> {
  const node = createNode({ name: 'idle' });
  const sup = startSupervisor(node, { strategy: 'simple_one_for_one', children: [worker('idle', ring)] });
  const { bytes } = await retainedBytes(async () => {
    for (let i = 0; i < IDLE_ACTORS; i++) await startChild(node, sup, []);
    return node;
  });
  const alive = node.stats.processes - 1;
  if (alive !== IDLE_ACTORS) throw new Error(`expected ${IDLE_ACTORS} idle actors, found ${alive}`);
  await node.stop();
  return bytes / IDLE_ACTORS;
}

async function xstateBytesPerActor(): Promise<number> {
  const { bytes, keep } = await retainedBytes(() => Array.from({ length: IDLE_ACTORS }, () => createActor(ring).start()));
  for (const actor of keep) actor.stop();
  return bytes / IDLE_ACTORS;
}

export async function main(): Promise<Record<string, unknown>> {
  await governorRate(); // warm-up, both sides
  xstateRate();
  const messages = await bestOf(3, governorRate);
  const baseline = await bestOf(3, async () => xstateRate());
  console.log(`governor ${round(messages, 0)} msg/s, xstate ${round(baseline, 0)} msg/s`);
  const restarts = await restartLatencies();
  console.log(`restart p50 ${round(percentile(restarts, 50))} µs, p99 ${round(percentile(restarts, 99))} µs`);
  const ours = await governorBytesPerActor();
  const theirs = await xstateBytesPerActor();
  console.log(`idle actor: governor ${round(ours, 0)} B, xstate ${round(theirs, 0)} B`);
  return {
    bench: 'runtime',
    messages_per_s: round(messages, 0),
    xstate_baseline_per_s: round(baseline, 0),
    ratio: round(messages / baseline, 3),
    restart_p50_us: round(percentile(restarts, 50), 1),
    restart_p99_us: round(percentile(restarts, 99), 1),
    bytes_per_idle_actor: round(ours, 0),
    xstate_bytes_per_actor: round(theirs, 0),
  };
}
