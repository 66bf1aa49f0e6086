/**
 * The chaos run, small (issue 8): a few hundred lifecycle events for fifty customers while two
 * nodes are SIGKILLed (and replaced) and Redis restarts once. Nothing accepted is lost, nothing is
 * applied twice, every committed state is the reference fold's, and every receipt chain verifies.
 * The full run is `npm run bench -- chaos`.
 */
import { expect, it } from 'vitest';
import { runChaos } from './chaos-run.ts';

it('nodes killed and Redis restarted mid-run: nothing lost, nothing doubled, the states the model says', async () => {
  const result = await runChaos({ events: 400, customers: 50, minKills: 2, killEveryMs: 1_500, redisRestarts: 1, seed: 7, batch: 10, pauseMs: 150 });
  expect(result.problems).toEqual([]);
  expect(result).toMatchObject({ events: 400, lost: 0, duplicated_effects: 0, state_mismatches: 0, audit_ok: true, redis_restarts: 1 });
  expect(result.kills).toBeGreaterThanOrEqual(2);
}, 240_000);
