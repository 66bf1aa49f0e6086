/**
 * The chaos run, small (issue 8, issue 14 finding 7): a few hundred lifecycle events for fifty
 * customers on a Redis with `appendfsync always`, while nodes are SIGKILLed at random sub-second
 * offsets (and replaced), Redis is SIGKILLed and restarted once and frozen (SIGSTOP, 3 s) once.
 * Nothing sent is lost, nothing is applied twice, every outcome and end state is what the rules
 * model (`chaos-model.ts`) says, in send order, and every receipt chain verifies. The full run,
 * with a second run on `everysec` that must find its loss, is `npm run bench -- chaos`.
 */
import { expect, it } from 'vitest';
import { runChaos } from './chaos-run.ts';

it('nodes and Redis SIGKILLed, Redis frozen: nothing lost, nothing doubled, the states the rules say', async () => {
  const result = await runChaos({ appendfsync: 'always', events: 400, customers: 50, minKills: 2, killGapMs: [300, 1_500], redisKills: 1, redisFreezes: 1, seed: 7, batch: 10, pauseMs: 60 });
  expect(result.problems).toEqual([]);
  expect(result).toMatchObject({ events: 400, redis_kills: 1, redis_freezes: 1, lost: 0, duplicated_effects: 0, state_mismatches: 0, order_violations: 0, unexpected_exits: 0, rollback_detected: 0, halts_unrecorded: 0, audit_ok: true });
  expect(result.kills).toBeGreaterThanOrEqual(2);
}, 120_000);
