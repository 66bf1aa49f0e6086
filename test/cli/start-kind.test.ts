/**
 * Which node `governor start` runs is never a surprise: `npm start` is the embedded node with the
 * REPL even when REDIS_URL is set (as the README suggests for tests), and a cluster node says it is
 * one on its first line.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, GOVERNOR_COMMAND } from './governor-command.ts';


/** `npm start`'s arguments to governor, read from package.json, so the test runs what npm runs. */
const npmStart = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
// What follows the command's entry file (`node --import tsx src/cli/bin.ts start --embedded`).
const npmStartArgs = npmStart.split(' ').slice(npmStart.split(' ').indexOf('src/cli/bin.ts') + 1);
// Nothing listens on port 1: a node that tried this Redis would fail or hang, never print the banner.
const UNREACHABLE = 'redis://127.0.0.1:1';

describe('npm start', () => {
  it('is governor start --embedded', () => {
    expect(npmStart).toBe('node --import tsx src/cli/bin.ts start --embedded');
  });

  it('runs the embedded node with the REPL although REDIS_URL is set, and exits 0 at the end of its input', () => {
    const run = governor(npmStartArgs, { input: 'tree()\n', env: { REDIS_URL: UNREACHABLE } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toContain('Governor embedded node "embedded"');
    expect(run.stdout).toContain('governor(embedded)> tree()');
    expect(run.stdout).not.toContain('cluster');
  });

  it('refuses --embedded with --redis: one is in memory, the other a cluster node', () => {
    const run = governor(['start', '--embedded', '--redis', UNREACHABLE]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--embedded runs the node in memory');
  });
});

describe('governor start with REDIS_URL', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('is a cluster node and says so on its first line, naming REDIS_URL and --embedded', async () => {
    const node = spawn(process.execPath, [...GOVERNOR_COMMAND, 'start', '--prefix', `${redis.prefix}:{kind}`, '--name', 'k1'], {
      env: { ...process.env, REDIS_URL: redis.url, GOVERNOR_TELEMETRY: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    node.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('is running')) node.kill('SIGTERM');
    });
    const exited = new Promise<number | null>((resolve) => node.once('exit', resolve));
    expect(await exited).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^Governor cluster node: joining the nodes on redis:\/\/.*REDIS_URL is set; governor start --embedded runs the embedded node/);
    expect(stdout).toContain('Governor cluster node "k1" is running');
  }, 60_000);
});
