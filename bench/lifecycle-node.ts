/**
 * One node process of the lifecycle benchmark (`bench/lifecycle.ts` starts two).
 *
 * `ROLE=governor`: a BullMQ node hosting the marketplace (the orchestrator, the eight governors and
 * receipts) in `PLACEMENT` (sharded or distributed). It is `startBullmqNode` with one addition:
 * after each step of an Orchestrator it reports, for each lifecycle event the orchestrator has
 * finished in it (completed, rejected or found a duplicate), `done <customer> <n> <ms>` on stdout,
 * where `n` counts that customer's finished events. A customer's events are handled strictly in
 * enqueue order, so the parent knows which event the n-th is and when it sent it.
 *
 * `ROLE=baseline`: a plain BullMQ Worker at `CONCURRENCY` on the same queue format, reporting
 * `done <job name> 1 <ms>` per job: the raw library doing the same delivery with nothing around it.
 *
 * Prints `owned <n>` whenever the number of partitions it holds changes, `steps <transitions>
 * <messages>` every 100 ms (`step-counts.ts`), and `ready` once started.
 */
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { EntityHost } from '../src/runtime/entity-host.ts';
import { createNode } from '../src/create-node.ts';
import { BullmqTransport, installSignalHandlers, type Placement } from '../src/transport/bullmq/index.ts';
import { marketplaceKinds } from '../machines/index.ts';
import type { OrchestratorContext } from '../machines/orchestrator.ts';
import { countSteps, stepsLine } from './step-counts.ts';

const env = process.env;
const name = env['NODE_NAME'] ?? `bench-${process.pid}`;
const url = env['REDIS_URL']!;
const prefix = env['GOVERNOR_PREFIX']!;
const logger = pino({ level: env['LOG'] ?? 'warn', base: { node: name } }, pino.destination(2));

// Reports are batched into one write every few milliseconds: each line carries the time it was
// made, so when it leaves changes no figure, while its write is work the node would not do. A
// write per turn of the event loop (as before) cost 4-5% of a busy node's CPU in the profile: a
// pipe write wakes the parent, on a machine with two cores.
const FLUSH_MS = 5;
let out = '';
function report(line: string): void {
  if (out === '') setTimeout(flush, FLUSH_MS);
  out += `${line}\n`;
}
function flush(): void {
  process.stdout.write(out);
  out = '';
}

if (env['ROLE'] === 'baseline') {
  const worker = new Worker(env['QUEUE'] ?? 'baseline', async (job) => report(`done ${job.name} 1 ${Date.now()}`), {
    connection: { url, maxRetriesPerRequest: null },
    prefix,
    concurrency: Number(env['CONCURRENCY'] ?? 8),
  });
  await worker.waitUntilReady();
  const stop = () => void worker.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  const kinds = marketplaceKinds({ pseudonymKey: 'lifecycle-benchmark-pseudonym-key' });
  const transport = new BullmqTransport({
    url,
    prefix,
    partitions: Number(env['PARTITIONS'] ?? 16),
    placement: (env['PLACEMENT'] ?? 'sharded') as Placement,
    logger,
  });
  const node = createNode({ name, transport, clock: transport.clock(), logger });
  const steps = countSteps(node, kinds.map((k) => k.machine));
  const options = transport.entityHostOptions(kinds, { afterCommit: true });
  const finished = new Map<string, number>();
  const timedOut = new Map<string, number>();
  new EntityHost(node, kinds, {
    ...options,
    commit(address, persist) {
      options.commit!(address, persist);
      if (address.entity !== 'Orchestrator') return;
      // Read from the live process: persisting here would add work the node does not do.
      const snapshot = node.entities?.processOf(address)?.snapshot;
      if (!snapshot) return;
      const { stats } = (snapshot as unknown as { context: OrchestratorContext }).context;
      const n = stats.processed + stats.rejected + stats.duplicates;
      // One step can finish several events: a duplicate postponed while its original was in
      // flight is answered in the step that completes the original. Each is reported.
      const now = Date.now();
      for (let k = (finished.get(address.key) ?? 0) + 1; k <= n; k++) report(`done ${address.key} ${k} ${now}`);
      finished.set(address.key, Math.max(n, finished.get(address.key) ?? 0));
      if (stats.timeouts > (timedOut.get(address.key) ?? 0)) {
        timedOut.set(address.key, stats.timeouts);
        report(`timeout ${address.key}`);
      }
    },
  });
  await transport.start();
  installSignalHandlers(node, transport, { timeoutMs: 10_000 });
  let owned = -1;
  setInterval(() => {
    const now = transport.ownedPartitions().length;
    if (now !== owned) report(`owned ${(owned = now)}`);
    report(stepsLine(steps));
  }, 100).unref();
}
report('ready');
