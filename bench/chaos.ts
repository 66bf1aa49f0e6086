/**
 * `npm run bench -- chaos` (issue 8, issue 14 finding 7, SPEC §6): two chaos runs
 * (test/fault/chaos-run.ts, shared with the small version in `npm test`), each on two node
 * processes and a private Redis with AOF, judged against the rules model of
 * test/fault/chaos-model.ts (written from SPEC §4 and the documented rules, not from the
 * governors' code):
 *
 * 1. `appendfsync always`: 20,000 lifecycle events for 1,000 customers while nodes are SIGKILLed
 *    at random sub-second offsets (at least 12, some during a takeover), Redis is SIGKILLed three
 *    times and frozen (SIGSTOP, 3 s) twice. Nothing acknowledged may be lost, and one customer's
 *    events are decided in send order.
 * 2. `appendfsync everysec`: 4,000 events for 200 customers, Redis SIGKILLed twice with the AOF
 *    cut back by a second (what everysec loses on a machine crash), frozen once, nodes killed.
 *    The nodes must find each loss and halt (`rollback_detected`); the halt is cleared, nodes
 *    start again, and the producer sends again what it has not seen decided (`resent`). Nothing
 *    may be applied twice.
 *
 * The model's subset (its doc comment): monthly plans, no state timeouts (the shortest an event
 * can start is an hour; a run lasts minutes), no SuspensionLifted or catalog events, no licence
 * keys, outcomes rather than reasons. Within it the workload is varied: every event type, trials,
 * reactivations, proration charges and credits, overage on four metrics, payments right, within
 * the tolerance, wrong and repeated, failed payments, stale upgrades, early renewals, producers'
 * retries.
 *
 * Last line: the totals over both runs (`events`, `kills`, `redis_kills`, `redis_freezes`, `lost`,
 * `duplicated_effects`, `state_mismatches`, `audit_ok`, `rollback_detected`, ...) and each run's
 * figures under `always` and `everysec`. Target: `lost`, `duplicated_effects`,
 * `state_mismatches` 0, `audit_ok` true, `rollback_detected` ≥ 1 (every everysec kill, in
 * practice), `kills` ≥ 10, `redis_kills` ≥ 3 and `redis_freezes` ≥ 2 in the `always` run alone.
 * `CHAOS_EVENTS`, `CHAOS_CUSTOMERS`, `CHAOS_SEED` change the `always` run's workload.
 */
import { runChaos, type ChaosResult } from '../test/fault/chaos-run.ts';

export async function main(): Promise<Record<string, unknown>> {
  const env = process.env;
  const seed = Number(env['CHAOS_SEED'] ?? 1);
  const log = (line: string) => console.log(line);
  const runs: Record<'always' | 'everysec', ChaosResult> = {} as never;
  for (const appendfsync of ['always', 'everysec'] as const) {
    const startedAt = Date.now();
    const always = appendfsync === 'always';
    runs[appendfsync] = await runChaos({
      appendfsync,
      events: always ? Number(env['CHAOS_EVENTS'] ?? 20_000) : 4_000,
      customers: always ? Number(env['CHAOS_CUSTOMERS'] ?? 1_000) : 200,
      seed,
      nodes: 2,
      partitions: 16,
      minKills: always ? 12 : 4,
      killGapMs: [200, 2_500],
      redisKills: always ? 3 : 2,
      redisFreezes: always ? 2 : 1,
      batch: 100,
      pauseMs: 250,
      drainTimeoutMs: 300_000,
      log,
    });
    const { problems, ...figures } = runs[appendfsync];
    for (const problem of problems) console.log(`problem: ${problem}`);
    console.log(`chaos (${appendfsync}): ${JSON.stringify(figures)} in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  }
  const all = Object.values(runs);
  const total = (field: keyof ChaosResult) => all.reduce((sum, r) => sum + (r[field] as number), 0);
  const figures = ({ problems: _problems, ...r }: ChaosResult) => r;
  return {
    bench: 'chaos',
    events: total('events'),
    kills: total('kills'),
    redis_kills: total('redis_kills'),
    redis_freezes: total('redis_freezes'),
    lost: total('lost'),
    duplicated_effects: total('duplicated_effects'),
    state_mismatches: total('state_mismatches'),
    audit_ok: all.every((r) => r.audit_ok),
    rollback_detected: total('rollback_detected'),
    halts_unrecorded: total('halts_unrecorded'),
    resent: total('resent'),
    takeover_kills: total('takeover_kills'),
    order_violations_always: runs.always.order_violations,
    unexpected_exits: total('unexpected_exits'),
    always: figures(runs.always),
    everysec: figures(runs.everysec),
  };
}
