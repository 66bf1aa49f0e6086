/**
 * `governor start --redis` stopped by a signal, as Kubernetes stops a pod on every rolling update:
 * with Redis up it hands its partitions over and exits 0 with one line saying so; with Redis gone
 * or frozen it exits anyway once GOVERNOR_STOP_TIMEOUT_MS has passed, non-zero, naming what it could
 * not hand over. Real processes, a private Redis per test (they kill and freeze it).
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governorAsync, startGovernorNode } from './governor-command.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';

const ENV = { GOVERNOR_PSEUDONYM_KEY: 'k'.repeat(43), GOVERNOR_STOP_TIMEOUT_MS: '3000', GOVERNOR_TELEMETRY: '0' };

let redis: RedisHandle | undefined;
let node: ChildProcess | undefined;

afterEach(async () => {
  if (redis?.pid !== undefined) process.kill(redis.pid, 'SIGCONT');
  if (node && node.exitCode === null && node.signalCode === null) node.kill('SIGKILL');
  await redis?.stop();
  redis = node = undefined;
});

/** Starts a node on a private Redis, returning a promise of how it ended (exit code and output). */
async function startNode(prefix: string) {
  redis = await startRedis({ mode: 'private' });
  node = await startGovernorNode(['--redis', redis.url, '--prefix', prefix, '--name', 'n1'], ENV);
  let stdout = '';
  let stderr = '';
  node.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => node!.once('exit', (code, signal) => resolve({ code, stdout, stderr: `${stderr}\n(signal ${signal})` })));
  return { redis, node, ended };
}

describe('governor start --redis, stopped by a signal', () => {
  it('hands over with Redis up: exit 0, one line saying so, no lease left', async () => {
    const { redis, node, ended } = await startNode('{stop-up}');
    const client = redis.client();
    expect(await client.keys(new RedisKeys('{stop-up}').leasePattern)).not.toHaveLength(0);
    node.kill('SIGTERM');
    const { code, stdout, stderr } = await ended;
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/Governor cluster node "n1" stopped \(SIGTERM\): handed over 16 partitions in \d+(\.\d)? m?s\./);
    expect(stderr).not.toContain('gave up');
    expect(await client.keys(new RedisKeys('{stop-up}').leasePattern)).toEqual([]);
    expect(await client.zrange(new RedisKeys('{stop-up}').nodes, 0, -1)).toEqual([]);
  }, 60_000);

  it('Ctrl-C (SIGINT) is a stop as well, not a crash', async () => {
    const { node, ended } = await startNode('{stop-int}');
    node.kill('SIGINT');
    const { code, stdout, stderr } = await ended;
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('stopped (SIGINT)');
  }, 60_000);

  it('with Redis killed, exits by the deadline with exit 8 and names what it did not hand over', async () => {
    const { redis, node, ended } = await startNode('{stop-down}');
    await redis.kill('SIGKILL');
    node.kill('SIGTERM');
    const { code, stderr } = await ended;
    expect(code, stderr).toBe(8);
    expect(stderr).toContain('without a full hand-over');
    expect(stderr).toContain('GOVERNOR_STOP_TIMEOUT_MS=3000');
    expect(stderr).toMatch(/partitions 0, 1, .* not handed over: their leases expire/);
  }, 60_000);

  it('with Redis frozen (SIGSTOP), exits by the deadline with exit 8 as well', async () => {
    const { redis, node, ended } = await startNode('{stop-frozen}');
    process.kill(redis.pid!, 'SIGSTOP');
    node.kill('SIGTERM');
    const { code, stderr } = await ended;
    expect(code, stderr).toBe(8);
    expect(stderr).toContain('the hand-over did not finish within GOVERNOR_STOP_TIMEOUT_MS=3000');
  }, 60_000);

  it('a second signal exits at once, with exit 8', async () => {
    const { redis, node, ended } = await startNode('{stop-twice}');
    process.kill(redis.pid!, 'SIGSTOP');
    node.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    node.kill('SIGTERM');
    const { code, stderr } = await ended;
    expect(code, stderr).toBe(8);
    expect(stderr).toContain('a second signal cut the hand-over short');
  }, 60_000);
});

describe('governor start --redis, with a Redis that does not answer', () => {
  it.each([
    ['nothing listening', async () => 'redis://127.0.0.1:1'],
    [
      'a frozen Redis (it accepts the connection and never replies)',
      async () => {
        redis = await startRedis({ mode: 'private' });
        process.kill(redis.pid!, 'SIGSTOP');
        return redis.url;
      },
    ],
  ])('%s: exit 3 within the deadline, one line naming the Redis and what to check', async (_what, url) => {
    const target = await url();
    const run = await governorAsync(['start', '--redis', target, '--name', 'n-unreachable'], { env: { ...ENV, GOVERNOR_REDIS_TIMEOUT_MS: '1000' } });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(`governor: cannot start a BullMQ node on ${target}: Redis at ${target} did not answer within 1000 ms`);
  }, 60_000);
});
