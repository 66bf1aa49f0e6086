/**
 * `npm run bench -- chaos` (issue 8, SPEC §6): 20,000 lifecycle events for 1,000 customers on two
 * node processes and a private Redis with AOF, while a random node is SIGKILLed every few seconds
 * (a fresh one takes its place) and Redis is stopped and restarted twice. The run itself is
 * test/fault/chaos-run.ts, shared with the small version in `npm test`.
 *
 * Last line: `events`, `kills`, `redis_restarts`, `lost`, `duplicated_effects`,
 * `state_mismatches`, `audit_ok`. Target: the three counts 0, `audit_ok` true, `kills` ≥ 5.
 * `CHAOS_EVENTS`, `CHAOS_CUSTOMERS`, `CHAOS_SEED` change the workload.
 */
import { runChaos } from '../test/fault/chaos-run.ts';

export async function main(): Promise<Record<string, unknown>> {
  const env = process.env;
  const startedAt = Date.now();
  const { problems, ...figures } = await runChaos({
    events: Number(env['CHAOS_EVENTS'] ?? 20_000),
    customers: Number(env['CHAOS_CUSTOMERS'] ?? 1_000),
    seed: Number(env['CHAOS_SEED'] ?? 1),
    nodes: 2,
    partitions: 16,
    minKills: 5,
    killEveryMs: 3_000,
    redisRestarts: 2,
    batch: 200,
    pauseMs: 250,
    drainTimeoutMs: 300_000,
    log: (line) => console.log(line),
  });
  for (const problem of problems) console.log(`problem: ${problem}`);
  console.log(`chaos: ${figures.events} events in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  return { bench: 'chaos', ...figures };
}
