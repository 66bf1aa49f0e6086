import fc from 'fast-check';
import { describe, it } from 'vitest';
import { DEFAULT_RUNS, marketplaceProperty } from '../../src/cli/check/marketplace.ts';

/**
 * Random event sequences for several customers against the pure reference model, through the
 * orchestrator and the real governors on the memory transport: duplicates (also reordered, within
 * the duplicate window and after it), invalid events, governor crashes and clock jumps. The
 * property and the model live in src/cli/check/ (shared with `governor check`).
 *
 * A failure prints fast-check's seed, path, shrunk command list and its replayPath. Replay it with
 *   GOVERNOR_SEED=<seed> GOVERNOR_PATH=<path> GOVERNOR_REPLAY_PATH=<replayPath> \
 *     npx vitest run test/application/properties.test.ts
 * or `npx governor check --seed <seed> --path <path> --replay-path <replayPath>`
 * (the seed alone reruns the whole search; GOVERNOR_RUNS sets the number of runs).
 */
describe('the marketplace against its reference model', () => {
  it('equals the model and keeps every invariant under random events, duplicates, crashes and clock jumps', async () => {
    const seed = process.env.GOVERNOR_SEED;
    const path = process.env.GOVERNOR_PATH;
    const replayPath = process.env.GOVERNOR_REPLAY_PATH;
    await fc.assert(marketplaceProperty(replayPath ? { replayPath } : {}), {
      numRuns: Number(process.env.GOVERNOR_RUNS ?? DEFAULT_RUNS),
      ...(seed !== undefined ? { seed: Number(seed) } : {}),
      ...(path !== undefined ? { path } : {}),
    });
  });
});
