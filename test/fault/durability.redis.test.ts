/**
 * Issue 14, "durable or refused", on real `governor start` processes:
 *
 * - a node refuses a Redis without AOF (exit 6, one line naming the setting and the fix) unless it
 *   is told the data may be lost, and then warns at every start;
 * - a node that saw commits Redis later lost (an older AOF restored, as a crash with `appendfsync
 *   everysec` loses its last second) finds the dataset went backwards, halts it, stops and exits
 *   7, and nothing is decided twice: the events whose decisions were lost stay undecided, no node
 *   starts on the halted dataset until an operator clears the halt;
 * - a fresh Redis at first start is fine (the sentinel is created).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { DatasetRolledBackError } from '../../src/store/redis-errors.ts';
import { startBullmqNode } from '../../src/transport/bullmq/index.ts';
import { ledger } from '../fixtures/machines.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governor, GOVERNOR_COMMAND } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

/** Nothing inherited decides for these processes: no shared Redis, no allowance unless a test gives it. */
const CLEAN_ENV = { REDIS_URL: '', GOVERNOR_ALLOW_DATA_LOSS: '', GOVERNOR_PSEUDONYM_KEY: 'durability-test-pseudonym-key-0123456789' };

const servers: RedisHandle[] = [];
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(servers.map((server) => server.stop()));
});

async function redisServer(options: Parameters<typeof startRedis>[0]): Promise<RedisHandle> {
  const server = await startRedis({ mode: 'private', ...options });
  servers.push(server);
  return server;
}

interface GovernorProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string | null>;
  /** Resolves once it printed that it is running; rejects if it exits first. */
  readonly running: Promise<void>;
}

/** `governor <args>` as a long-running process (spawnSync would block until it ends). */
function spawnGovernor(args: string[], env: Record<string, string> = {}): GovernorProcess {
  const child = spawn(process.execPath, [...GOVERNOR_COMMAND, ...args], { env: { ...process.env, ...CLEAN_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );
  const running = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('is running')) resolve();
    });
    void exited.then((code) => reject(new Error(`governor ${args.join(' ')} exited (${code}) before it was running:\n${stderr}`)));
  });
  running.catch(() => undefined);
  return { child, stdout: () => stdout, stderr: () => stderr, exited, running };
}

/** The node's JSON log lines at `level` (pino: 40 warn, 50 error). */
function logLines(stderr: string, level: number): { msg: string; [field: string]: unknown }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level === level);
}

/** The `governor:` lines: what the command itself says, apart from the node's logs. */
function commandLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('governor:'));
}

function subscribe(customerId: string, eventId: string): string {
  return JSON.stringify({ type: 'CustomerSubscribes', customerId, eventId, sku: 'PRO-MONTHLY', tier: 'professional' });
}

/** Whether the customer's orchestrator committed the event (its handled-message record). */
async function decided(client: Redis, keys: RedisKeys, customerId: string, eventId: string): Promise<boolean> {
  return (await client.zscore(keys.handled({ entity: 'Orchestrator', key: customerId }), messageIdOf({ customerId, eventId }))) !== null;
}

describe('a Redis without AOF', () => {
  it('is refused: exit 6 and one line naming appendonly and the fix; nothing is written', async () => {
    const bare = await redisServer({ persistence: 'redis-defaults' });
    const prefix = `${bare.prefix}:{bare}`;
    const run = governor(['start', '--redis', bare.url, '--prefix', prefix], { env: CLEAN_ENV });
    expect(run.code, run.stderr).toBe(6);
    const lines = commandLines(run.stderr);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toContain('Redis has appendonly no (no AOF)');
    expect(lines[0]).toContain('redis-server --appendonly yes --appendfsync everysec');
    expect(lines[0]).toContain('CONFIG SET appendonly yes');
    expect(lines[0]).toContain('--allow-data-loss (GOVERNOR_ALLOW_DATA_LOSS=1)');
    expect(await bare.client().keys(`${prefix}*`)).toEqual([]);
  });

  it('is accepted with --allow-data-loss or GOVERNOR_ALLOW_DATA_LOSS=1, with a warning at every start', async () => {
    const bare = await redisServer({ persistence: 'redis-defaults' });
    const prefix = `${bare.prefix}:{allowed}`;
    const ways: [string[], Record<string, string>][] = [
      [['--allow-data-loss'], {}],
      [[], { GOVERNOR_ALLOW_DATA_LOSS: '1' }],
      [['--allow-data-loss'], {}],
    ];
    for (const [flags, env] of ways) {
      const node = spawnGovernor(['start', '--redis', bare.url, '--prefix', prefix, ...flags], env);
      await node.running;
      expect(node.stdout()).toContain('Redis without AOF: a restart loses data');
      node.child.kill('SIGTERM');
      await node.exited; // (its exit code on SIGTERM is the graceful shutdown's business, not this test's)
      const warnings = logLines(node.stderr(), 40).filter((entry) => entry.msg.startsWith('data loss allowed'));
      expect(warnings, node.stderr()).toHaveLength(1);
      expect(warnings[0]!.msg).toContain('--allow-data-loss / GOVERNOR_ALLOW_DATA_LOSS=1');
      expect(warnings[0]!.msg).toContain('Redis without AOF');
    }
  }, 60_000);
});

describe('a dataset that went backwards', () => {
  it('stops the node that saw the lost commits (exit 7), halts the dataset, and decides nothing twice', async () => {
    const redis = await redisServer({ appendfsync: 'everysec' });
    const prefix = `${redis.prefix}:{rollback}`;
    const keys = new RedisKeys(prefix);
    const client = redis.client();
    const start = (name: string): GovernorProcess => spawnGovernor(['start', '--redis', redis.url, '--prefix', prefix, '--name', name]);
    const enqueue = (customerId: string, eventId: string, wait: string[] = []) =>
      governor(['enqueue', '--json', subscribe(customerId, eventId), '--redis', redis.url, '--prefix', prefix, ...wait], { env: CLEAN_ENV });

    // A fresh Redis at first start: the sentinel is created, and the start line says what a crash may cost.
    const d1 = start('d1');
    await d1.running;
    expect(d1.stdout()).toContain('Redis AOF, appendfsync everysec');
    const dataset = await client.hget(keys.epoch, 'id');
    expect(dataset).toMatch(/^[0-9a-f]{16}$/);
    expect(enqueue('c1', 'e1', ['--wait', '30']).code).toBe(0);
    d1.child.kill('SIGTERM');
    expect(await d1.exited, d1.stderr()).not.toBe(7);

    // Two events wait in their queues; Redis stops cleanly, and this is the copy restored later.
    expect(enqueue('c2', 'e2').code).toBe(0);
    expect(enqueue('c3', 'e3').code).toBe(0);
    await redis.kill('SIGTERM');
    const aof = join(redis.dir!, 'appendonlydir');
    const older = `${aof}.older`;
    cpSync(aof, older, { recursive: true });
    await redis.restart();
    // The commit sequences are per partition (each partition's copy of the sentinel): their sum moves as commits do.
    const commits = async () => (await Promise.all(Array.from({ length: 16 }, (_, p) => client.hget(keys.partitionEpoch(String(p)), 'seq')))).reduce((sum, seq) => sum + Number(seq ?? 0), 0);
    const before = await commits();

    // d2 decides them (their sending again is the producer's retry: the same eventIds).
    const d2 = start('d2');
    await d2.running;
    expect(enqueue('c2', 'e2', ['--wait', '30']).code).toBe(0);
    expect(enqueue('c3', 'e3', ['--wait', '30']).code).toBe(0);
    const after = await commits();
    expect(after).toBeGreaterThan(before);

    // Redis crashes and comes back with the older AOF: e2 and e3 were acknowledged decided and are not any more.
    await redis.kill('SIGKILL');
    rmSync(aof, { recursive: true, force: true });
    cpSync(older, aof, { recursive: true });
    await redis.restart();
    expect(await commits()).toBe(before);

    expect(await d2.exited, d2.stderr()).toBe(7);
    const errors = logLines(d2.stderr(), 50).filter((entry) => entry.msg.startsWith('the Redis dataset went backwards'));
    expect(errors.length, d2.stderr()).toBeGreaterThan(0);
    // Both numbers of one partition: the highest it saw and what Redis has now, lower.
    const [, saw, now] = /this node saw commit (\d+) of dataset \w+, but Redis is back at commit (\d+)/.exec(errors[0]!.msg) ?? [];
    expect(Number(saw)).toBeGreaterThan(Number(now));
    expect(errors[0]).toMatchObject({ code: 'DATASET_ROLLED_BACK', seen: { id: dataset }, found: { id: dataset, seq: Number(now) } });
    expect(await client.hget(keys.epoch, 'halted')).toMatch(new RegExp(`^found by node d2 at .*: it had seen commit ${saw} of dataset ${dataset}, Redis had commit ${now} of dataset ${dataset} at `));

    // Nothing decided twice: what the restored dataset had decided is there, the lost decisions were not taken again.
    expect(await decided(client, keys, 'c1', 'e1')).toBe(true);
    expect(await decided(client, keys, 'c2', 'e2')).toBe(false);
    expect(await decided(client, keys, 'c3', 'e3')).toBe(false);

    // No node starts on the halted dataset: exit 7, one line saying how to resume.
    const d3 = governor(['start', '--redis', redis.url, '--prefix', prefix, '--name', 'd3'], { env: CLEAN_ENV });
    expect(d3.code, d3.stderr).toBe(7);
    const refusal = commandLines(d3.stderr);
    expect(refusal, d3.stderr).toHaveLength(1);
    expect(refusal[0]).toContain('the Redis dataset was halted after it went backwards (found by node d2');
    expect(refusal[0]).toContain(`redis-cli HDEL '${keys.epoch}' halted`);
    expect(await decided(client, keys, 'c2', 'e2')).toBe(false);

    // The operator has looked and resumes: a node takes the waiting events, once each, in this dataset.
    await client.hdel(keys.epoch, 'halted');
    for (let p = 0; p < 16; p++) await client.hdel(keys.partitionEpoch(String(p)), 'halted');
    const d4 = start('d4');
    await d4.running;
    expect(enqueue('c2', 'e2', ['--wait', '30']).code).toBe(0);
    expect(await decided(client, keys, 'c2', 'e2')).toBe(true);
    d4.child.kill('SIGTERM');
    expect(await d4.exited, d4.stderr()).not.toBe(7);
  }, 120_000);
});

describe('a flushed dataset under a library node', () => {
  it('is found at the next heartbeat by an idle node, which leaves and calls onGiveUp with the error', async () => {
    const redis = await redisServer({});
    const prefix = `${redis.prefix}:{flushed}`;
    const keys = new RedisKeys(prefix);
    const client = redis.client();
    const lines: string[] = [];
    let gaveUp: (reason: unknown) => void = () => undefined;
    const reason = new Promise<unknown>((resolve) => (gaveUp = resolve));
    const started = await startBullmqNode({
      url: redis.url,
      prefix,
      name: 'lib',
      kinds: [{ kind: 'Ledger', machine: ledger }],
      partitions: 1,
      leaseMs: 2_000,
      heartbeatMs: 200,
      durability: 'require',
      logger: pino({ level: 'error' }, { write: (line: string) => void lines.push(line) }),
      onGiveUp: gaveUp,
    });
    await started.node.call({ entity: 'Ledger', key: 'k' }, { type: 'get' }).catch(() => undefined);
    expect(await client.exists(keys.epoch)).toBe(1);
    await client.flushall();

    const error = await reason;
    expect(error).toBeInstanceOf(DatasetRolledBackError);
    expect((error as DatasetRolledBackError).message).toMatch(/no dataset sentinel at .*flushed/);
    expect(lines.some((line) => line.includes('DATASET_ROLLED_BACK')), lines.join('\n')).toBe(true);
    expect(started.transport.ownedPartitions()).toEqual([]);
    // The halt is recorded in the flushed Redis: a node starting there now is refused.
    expect(await client.hget(keys.epoch, 'halted')).toMatch(/^found by node lib at .*Redis had no sentinel$/);
    await expect(startBullmqNode({ url: redis.url, prefix, kinds: [{ kind: 'Ledger', machine: ledger }], partitions: 1 })).rejects.toThrow(DatasetRolledBackError);
  }, 30_000);
});
