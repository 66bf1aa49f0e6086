/**
 * The lifecycle benchmark (SPEC §6, issue 5): marketplace lifecycle events processed end to end by
 * the application (orchestrator, governors, receipts) on the BullMQ transport with two node
 * processes, against plain BullMQ jobs at the same concurrency in the same run, on one private Redis.
 *
 * Workload (`lifecycle-events.ts`): 1,000 customers, all eight event types in a script one step
 * per round, every 20th event sent twice (reported duplicate). A warm-up round (every customer
 * subscribes: their entities are created) is not timed; then `ROUNDS` rounds are sent in batches
 * of 1,000 while the nodes run, timed from the first send to the last event finished by its
 * orchestrator (completed, rejected or duplicate: every event is work), as each node reports it
 * after the orchestrator's step; the atomic commit of that step follows in the same round trip as
 * the job's completion. Latency: events sent every 10 ms at half the measured rate for six
 * seconds, each timed from its send to its orchestrator finishing it, the first second not
 * counted (the steady state at that rate, not the recovery from the saturating phase).
 *
 * The baseline is two processes each running a plain BullMQ Worker (concurrency = partitions / 2,
 * so the same total as the partition consumers), fed jobs of the same format and removal policy,
 * one per event, timed the same way.
 *
 * Redis' cost per event over the timed phase: `redis_cpu_us_per_event` (the private Redis'
 * `used_cpu_user + used_cpu_sys` / events; load-dependent) and `commands_per_event` (`INFO
 * commandstats` calls / events, a script counting once and each command it runs once more;
 * load-independent, so a saving shows on any machine). The per-command table goes to stderr, and
 * the baseline's own figures per job (the floor: one job added, fetched and completed).
 *
 * Both placements of SPEC §3: sharded (the default, top-level keys) and distributed (every actor
 * message a job, one pool of partitions per kind), under `distributed`.
 * `BENCH_ROUNDS` (default 8) and `BENCH_ONLY=sharded|distributed|baseline` for quicker looks
 * (`sharded+baseline`: the sharded figures with their ratio, without the distributed run);
 * `BENCH_CPU_PROF=<dir>` writes a V8 CPU profile of each node process there; `BENCH_NODE_ARGS`
 * adds Node flags to the node processes (e.g. `--trace-gc`, or `--import` of a probe).
 */
import { Queue } from 'bullmq';
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';
import { GovernorProducer, type OutboundMessage } from '../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../test/support/redis-server.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { messages, startNode, Tracker, until, warmUp, type NodeProcess, type Send } from './lifecycle-fleet.ts';
import { commandsBetween, commandStats, describeCommands, redisCpuMicros } from './redis-cpu.ts';
import { percentile, round } from './stats.ts';
import { stepsPerEvent, type StepCounts } from './step-counts.ts';

const PARTITIONS = 16;
const CUSTOMERS = 1_000;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const NODES = 2;
const KINDS = 10; // the orchestrator, eight governors and receipts: distributed partitions per kind
const BATCH = 1_000;
const LATENCY_WARM_SECONDS = 1;
const LATENCY_SECONDS = 5;

type Placement = 'sharded' | 'distributed';

let runs = 0;

interface Measured {
  readonly events: number;
  readonly eventsPerS: number;
  readonly latencies: number[];
  readonly timeouts: number;
  /** Redis CPU over the timed phase, per event (µs). */
  readonly redisCpuUsPerEvent: number;
  /** Redis commands over the timed phase, per event (`INFO commandstats` calls; a script is one). */
  readonly commandsPerEvent: number;
  /** XState transitions of all actors and messages delivered to actors, per event of the timed phase (`step-counts.ts`). */
  readonly steps: ReturnType<typeof stepsPerEvent>;
}

/**
 * The nodes' step counts once the work of the events finished so far is done: a finished event's
 * commits and receipt may still be in flight (in the distributed placement, each a job of its own
 * that may wait in its queue), and the nodes report their counts every 100 ms. Done is when the
 * counts stop moving for a second (at most 15 s).
 */
async function settledSteps(nodes: readonly NodeProcess[]): Promise<StepCounts[]> {
  const total = () => nodes.reduce((sum, n) => sum + n.steps.transitions + n.steps.messages, 0);
  const deadline = Date.now() + 15_000;
  let last = -1;
  while (total() !== last && Date.now() < deadline) {
    last = total();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return nodes.map((n) => ({ ...n.steps }));
}

/** Sends `events` in batches through `send` and resolves with the rate at which they finished. */
async function timed(events: readonly LifecycleEvent[], tracker: Tracker, send: Send): Promise<number> {
  const done = tracker.next(events.length);
  const start = Date.now();
  for (let i = 0; i < events.length; i += BATCH) await send(messages(events.slice(i, i + BATCH), tracker));
  await done;
  return (events.length / (tracker.last - start)) * 1000;
}

/**
 * Sends events every 10 ms at `rate` per second; the send-to-finish times of those sent in the
 * last LATENCY_SECONDS. The first LATENCY_WARM_SECONDS at the rate are not counted: they carry the
 * aftermath of the saturating phase before (Redis rewriting its append-only file, the nodes
 * collecting that phase's garbage; p50 3-10 times the steady one in the first 700 ms), and the
 * figure is the latency at half the maximum rate, not how fast the system recovers from the maximum.
 */
async function latencies(events: readonly LifecycleEvent[], rate: number, tracker: Tracker, send: Send): Promise<number[]> {
  const perTick = Math.max(1, Math.round(rate / 100));
  const ticks = (LATENCY_WARM_SECONDS + LATENCY_SECONDS) * 100;
  if (perTick * ticks > events.length) throw new Error(`benchmark: ${perTick * ticks} latency events needed, ${events.length} made`);
  const total = perTick * ticks;
  const done = tracker.next(total);
  const measuredFrom = Date.now() + LATENCY_WARM_SECONDS * 1000;
  for (let i = 0; i < total; i += perTick) {
    const tickStart = Date.now();
    await send(messages(events.slice(i, i + perTick), tracker));
    const wait = tickStart + 10 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await done;
  // Copied out now: a node stopping afterwards may still report, and must not reach the figures.
  return tracker.samples
    .filter((s) => s.sentAt >= measuredFrom)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
}

async function governor(redis: RedisHandle, placement: Placement): Promise<Measured> {
  const prefix = `${redis.prefix}:{lc${++runs}}`;
  const tracker = new Tracker();
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), PLACEMENT: placement, ROLE: 'governor' };
  const nodes: NodeProcess[] = [];
  // A phase that stops moving shows here, rather than as a benchmark that never ends.
  const progress = setInterval(() => console.error(`${placement}: ${tracker.finished} of ${tracker.target} events of this phase finished`), 10_000);
  progress.unref();
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS, placement });
  try {
    for (let i = 0; i < NODES; i++) nodes.push(await startNode({ ...env, NODE_NAME: `${placement}-${runs}-${i}` }, tracker));
    // The first node claims every partition; it hands half over once the second has joined.
    const total = placement === 'sharded' ? PARTITIONS : PARTITIONS * KINDS;
    await until(() => nodes.every((n) => n.owned === total / NODES), `both nodes owning their fair share of ${total} partitions`);
    const send = (batch: OutboundMessage[]) => producer.sendMany(batch);
    const run = `${placement}${runs}`;
    await warmUp(run, CUSTOMERS, tracker, send);
    const events = lifecycleRounds(run, CUSTOMERS, 1, ROUNDS);
    const stepsBefore = await settledSteps(nodes);
    const statsBefore = await commandStats(redis);
    const cpuBefore = await redisCpuMicros(redis);
    const eventsPerS = await timed(events, tracker, send);
    const redisCpuUsPerEvent = ((await redisCpuMicros(redis)) - cpuBefore) / events.length;
    const commands = commandsBetween(statsBefore, await commandStats(redis));
    const commandsPerEvent = commands.reduce((sum, [, s]) => sum + s.calls, 0) / events.length;
    console.error(`${placement}: Redis commands per event over the timed phase\n${describeCommands(commands, events.length)}`);
    const stepsAfter = await settledSteps(nodes);
    const steps = stepsPerEvent(stepsBefore, stepsAfter, events.length);
    console.error(`${placement}: steps per node over the timed phase ${JSON.stringify(stepsAfter.map((a, i) => ({ transitions: a.transitions - stepsBefore[i]!.transitions, messages: a.messages - stepsBefore[i]!.messages })))}`);
    const latency = await latencies(lifecycleRounds(run, CUSTOMERS, 1 + ROUNDS, 12), eventsPerS / 2, tracker, send);
    return { events: events.length, eventsPerS, latencies: latency, timeouts: tracker.timeouts, redisCpuUsPerEvent, commandsPerEvent, steps };
  } finally {
    clearInterval(progress);
    await Promise.all(nodes.map((n) => n.stop()));
    await producer.close();
  }
}

async function baseline(redis: RedisHandle): Promise<number> {
  const prefix = `${redis.prefix}:{lb${++runs}}`;
  const tracker = new Tracker();
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, ROLE: 'baseline', QUEUE: 'baseline', CONCURRENCY: String(PARTITIONS / NODES) };
  const nodes: NodeProcess[] = [];
  const queue = new Queue('baseline', { connection: { host: redis.host, port: redis.port }, prefix, streams: { events: { maxLen: 1_000 } } });
  try {
    for (let i = 0; i < NODES; i++) nodes.push(await startNode({ ...env, NODE_NAME: `baseline-${runs}-${i}` }, tracker));
    // The job's name carries the customer, so the baseline is tracked exactly as Governor is.
    const finished = new Map<string, number>();
    const send = (batch: OutboundMessage[]) =>
      queue.addBulk(
        batch.map((m) => {
          finished.set(m.to.key, (finished.get(m.to.key) ?? 0) + 1);
          return {
            name: m.to.key,
            data: { v: 1, id: m.id, env: { t: 'cast', to: m.to, event: m.event } },
            opts: { jobId: `${m.id}.${finished.get(m.to.key)}`, removeOnComplete: { count: 10_000, age: 3_600 }, removeOnFail: { count: 10_000 } },
          };
        }),
      );
    const run = `baseline${runs}`;
    await warmUp(run, CUSTOMERS, tracker, send);
    // What plain BullMQ costs Redis per job, measured as Governor's events are: the floor under
    // Governor's figure (every event is at least one job added, fetched and completed).
    const events = lifecycleRounds(run, CUSTOMERS, 1, ROUNDS);
    const statsBefore = await commandStats(redis);
    const cpuBefore = await redisCpuMicros(redis);
    const rate = await timed(events, tracker, send);
    const cpu = ((await redisCpuMicros(redis)) - cpuBefore) / events.length;
    const calls = commandsBetween(statsBefore, await commandStats(redis)).reduce((sum, [, s]) => sum + s.calls, 0) / events.length;
    console.error(`baseline: Redis ${round(cpu, 0)} µs CPU and ${round(calls, 2)} commands per job`);
    return rate;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await queue.close();
  }
}

function figures(measured: Measured, baselineRate: number) {
  return {
    events_per_s: round(measured.eventsPerS, 0),
    bullmq_baseline_jobs_per_s: round(baselineRate, 0),
    ratio: round(measured.eventsPerS / baselineRate, 3),
    p50_ms: round(percentile(measured.latencies, 50), 2),
    p99_ms: round(percentile(measured.latencies, 99), 2),
    redis_cpu_us_per_event: round(measured.redisCpuUsPerEvent, 0),
    commands_per_event: round(measured.commandsPerEvent, 2),
    ...measured.steps,
    nodes: NODES,
    events: measured.events,
  };
}

function describe(name: string, m: Measured): void {
  console.log(
    `${name}: ${round(m.eventsPerS, 0)} events/s; at half that rate p50 ${round(percentile(m.latencies, 50))} ms, ` +
      `p90 ${round(percentile(m.latencies, 90))} ms, p99 ${round(percentile(m.latencies, 99))} ms, max ${round(m.latencies.at(-1) ?? Number.NaN)} ms; ${m.timeouts} orchestrator timeouts; ` +
      `Redis ${round(m.redisCpuUsPerEvent, 0)} µs CPU and ${round(m.commandsPerEvent, 2)} commands per event; ` +
      `${m.steps.transitions_per_event} transitions and ${m.steps.messages_per_event} messages per event`,
  );
}

export async function main(): Promise<Record<string, unknown>> {
  const redis = await startRedis();
  try {
    const only = process.env['BENCH_ONLY'];
    if (only === 'baseline') {
      console.log(`baseline: ${round(await baseline(redis), 0)} jobs/s`);
      return {};
    }
    if (only === 'sharded' || only === 'distributed') {
      describe(only, await governor(redis, only));
      return {};
    }
    if (only === 'sharded+baseline') {
      // One placement's ratio without the other's minutes: the baseline before and after it, as below.
      const before = await baseline(redis);
      const sharded = await governor(redis, 'sharded');
      describe('sharded', sharded);
      const after = await baseline(redis);
      console.log(`baseline: ${round(before, 0)} then ${round(after, 0)} jobs/s`);
      return { bench: 'lifecycle', ...figures(sharded, Math.max(before, after)) };
    }
    const base = await baseline(redis);
    console.log(`baseline: ${round(base, 0)} jobs/s (two processes, concurrency ${PARTITIONS / NODES} each)`);
    const sharded = await governor(redis, 'sharded');
    describe('sharded', sharded);
    const distributed = await governor(redis, 'distributed');
    describe('distributed', distributed);
    // The baseline again, after: the machine's other load moves both sides; the better of the two.
    const base2 = await baseline(redis);
    console.log(`baseline again: ${round(base2, 0)} jobs/s`);
    const best = Math.max(base, base2);
    return { bench: 'lifecycle', ...figures(sharded, best), distributed: figures(distributed, best) };
  } finally {
    await redis.stop();
  }
}
