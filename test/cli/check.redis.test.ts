import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor } from './governor-command.ts';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });

describe('governor check --transport bullmq', () => {
  it('runs the property through a BullMQ node on the given Redis, and leaves no key behind', async () => {
    const before = await redis.client().dbsize();
    const run = governor(['check', '--transport', 'bullmq', '--redis', redis.url, '--runs', '3', '--seed', '1']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(bullmq transport); 3 runs, seed 1');
    expect(run.stdout).toContain('ok: 3 runs passed (seed 1)');
    expect(await redis.client().keys('{governor-check-*')).toEqual([]);
    expect(await redis.client().dbsize()).toBe(before);
  });

  it('with Redis unreachable starts nothing and exits 3 with the URL', async () => {
    const port = await freePort();
    const run = governor(['check', '--transport', 'bullmq', '--redis', `redis://127.0.0.1:${port}`, '--runs', '1']);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(run.stdout).toBe('');
  });
});
