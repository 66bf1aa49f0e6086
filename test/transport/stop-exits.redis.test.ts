import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

// Issue 19: the relay raced its close against a 10 s sleep nobody cancelled, so a script using
// the BullMQ transport lingered ~10 s after stop. A stopped transport must leave nothing pending.
describe('a stopped BullMQ node', () => {
  it('leaves no timer or socket behind, and its process ends by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stop-and-exit.ts'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redis.url, GOVERNOR_PREFIX: redis.prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Never killed: a process that does not end fails this test by its timeout.
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { stopped: boolean; held: string[] };
    expect(report.stopped).toBe(true);
    // What the event loop still held once stop resolved: a pending sleep shows as a Timeout.
    expect(report.held.filter((resource) => resource === 'Timeout')).toEqual([]);
  });
});
