import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { marketplaceProperty } from '../../src/cli/check/marketplace.ts';
import { bullmqTarget } from '../../src/cli/check/bullmq-target.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

/**
 * The marketplace property of properties.test.ts through the BullMQ transport, with fewer runs:
 * every event is a job in its customer's partition queue, handled by a node's partition worker,
 * and every state the property checks is read back from Redis. One node per run, on a key prefix
 * of its own, deleted after the run.
 *
 * Replay a failure as in properties.test.ts (GOVERNOR_SEED, GOVERNOR_PATH, GOVERNOR_REPLAY_PATH),
 * with this file, or `npx governor check --transport bullmq --redis URL --seed … --path …`.
 */
let redis: RedisHandle;
let run = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('the marketplace against its reference model, through BullMQ', () => {
  it('equals the model and keeps every invariant, with states read back from Redis', async () => {
    const seed = process.env.GOVERNOR_SEED;
    const path = process.env.GOVERNOR_PATH;
    const replayPath = process.env.GOVERNOR_REPLAY_PATH;
    const target = (options: { start: number; pseudonymKey: string }) => bullmqTarget({ ...options, url: redis.url, prefix: `${redis.prefix}:r${++run}` });
    await fc.assert(marketplaceProperty({ target, ...(replayPath ? { replayPath } : {}) }), {
      numRuns: Number(process.env.GOVERNOR_BULLMQ_RUNS ?? 10),
      ...(seed !== undefined ? { seed: Number(seed) } : {}),
      ...(path !== undefined ? { path } : {}),
    });
  }, 300_000);
});
