/**
 * What a real `governor start` node writes to its log, read as a log collector reads it (JSON lines
 * on a pipe): every line names the node, pino's own `pid` stays the OS process' (an actor's pid is
 * `actor`: test/runtime/process/links-and-monitors.test.ts), and an admin command's arguments — which may carry customer data — are redacted.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNode } from './governor-command.ts';
import { colorOn } from '../../src/cli/logger.ts';

const TOKEN = 'log-test-admin-token-0123456789abcdef';
let redis: RedisHandle;
let node: ChildProcess;
let stderr = '';

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  node = await startGovernorNode(['--redis', redis.url, '--name', 'n1', '--log-level', 'debug'], {
    GOVERNOR_ADMIN_TOKEN: TOKEN,
    GOVERNOR_PSEUDONYM_KEY: 'p'.repeat(43),
    GOVERNOR_TELEMETRY: '0',
  });
  node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
}, 60_000);

afterAll(async () => {
  node?.kill('SIGKILL');
  await redis?.stop();
});

const lines = () =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a node’s log lines', () => {
  it('name the node on every line and never log an admin command’s arguments, through a graceful stop', async () => {
    const run = governor(['repl', '--redis', redis.url, '--eval', "suspend('Billing/very-personal-customer')"], { env: { GOVERNOR_ADMIN_TOKEN: TOKEN } });
    expect(run.code, run.stderr).not.toBe(0); // the entity does not exist: refused after the log line
    await expect.poll(() => lines().some((l) => l.msg === 'admin command'), { timeout: 20_000 }).toBe(true);
    // Through a graceful stop, to its last line.
    const exited = new Promise((resolve) => node.once('exit', resolve));
    node.kill('SIGTERM');
    await exited;

    const all = lines();
    expect(all.length).toBeGreaterThan(0);
    for (const line of all) {
      expect(line.node, JSON.stringify(line)).toBe('n1');
      expect(line.pid, JSON.stringify(line)).toBe(node.pid); // pino's: the OS process
    }
    const admin = all.find((l) => l.msg === 'admin command')!;
    expect(admin).toMatchObject({ command: 'suspend', args: '[redacted]' });
    expect(stderr).not.toContain('very-personal-customer');
  }, 60_000);
});

describe('colours on a terminal', () => {
  it.each([
    [{}, true],
    [{ NO_COLOR: '1' }, false],
    [{ NO_COLOR: '' }, true],
    [{ FORCE_COLOR: '0' }, false],
  ])('%j → %s', (env, on) => {
    expect(colorOn(env)).toBe(on);
  });
});
