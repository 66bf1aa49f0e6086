/**
 * `governor enqueue` and reused idempotency keys (issue 14, finding 2): an eventId used before for
 * other content is refused at the door — exit 2 with `IdempotencyKeyReusedError`
 * (`IDEMPOTENCY_KEY_REUSED`), nothing written — whether the earlier event is still queued, was
 * handled (its orchestrator's record, read from Redis), or is an earlier line of the same file.
 * The same content again (another occurredAt allowed) stays a duplicate. And a file of bad lines
 * prints a bounded report (finding 6).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTIONS_SHOWN } from '../../src/cli/commands/enqueue.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startNodeProcess } from '../fault/node-process.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, GOVERNOR_COMMAND } from './governor-command.ts';

let redis: RedisHandle;
let producer: GovernorProducer;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis();
  producer = await GovernorProducer.connect({ url: redis.url, prefix: redis.prefix });
});
afterAll(async () => {
  await producer?.close();
  await redis?.stop();
});

const customer = () => `c-${++serial}-${Date.now().toString(36)}`;
const args = (prefix = redis.prefix) => ['--redis', redis.url, '--prefix', prefix];
const usage = (c: string, quantity: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'UsageRecorded', customerId: c, eventId: 'dup-1', metric: 'executions', quantity, idempotencyKey: 'u-1', occurredAt: '2025-06-01T00:00:00Z', ...extra });

/** The jobs of a customer's orchestrator in its partition queue, in any state. */
async function jobsOf(c: string, prefix = redis.prefix): Promise<Job[]> {
  const p = prefix === redis.prefix ? producer : await GovernorProducer.connect({ url: redis.url, prefix });
  const queue = new Queue(p.queueOf({ entity: 'Orchestrator', key: c }), { connection: redis.client(), prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
    return jobs.filter((job) => (job.data as { env: { to: { key: string } } }).env.to.key === c);
  } finally {
    await queue.close();
    if (p !== producer) await p.close();
  }
}

const quantityOf = (job: Job) => (job.data as { env: { event: { event: { quantity?: unknown; type: string } } } }).env.event.event;

/** The `governor` binary without blocking this process. */
function governorAsync(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...GOVERNOR_COMMAND, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('governor enqueue: an eventId reused for other content', () => {
  it('while the first is still queued: exit 2 with the named error, nothing written; the same content with another occurredAt is a duplicate', async () => {
    const c = customer();
    const first = governor(['enqueue', '--json', usage(c, 5), ...args()]);
    expect(first.code, first.stderr).toBe(0);

    const bigger = governor(['enqueue', '--json', usage(c, 500_000), ...args()]);
    expect(bigger.code, bigger.stdout).toBe(2);
    expect(bigger.stderr).toMatch(/IdempotencyKeyReusedError \(IDEMPOTENCY_KEY_REUSED\).*"ev\.c-[^"]*\/dup-1".*different content/);

    const cancel = governor(['enqueue', '--json', JSON.stringify({ type: 'CustomerCancels', customerId: c, eventId: 'dup-1' }), ...args()]);
    expect(cancel.code, cancel.stdout).toBe(2);
    expect(cancel.stderr).toMatch(/IDEMPOTENCY_KEY_REUSED/);

    const jobs = await jobsOf(c);
    expect(jobs).toHaveLength(1);
    expect(quantityOf(jobs[0]!)).toMatchObject({ type: 'UsageRecorded', quantity: 5 });

    const resend = governor(['enqueue', '--json', usage(c, 5, { occurredAt: '2025-06-01T00:05:00Z' }), ...args()]);
    expect(resend.code, resend.stderr).toBe(0);
    expect(await jobsOf(c)).toHaveLength(1);
  });

  it('within one --file: the later line is a bad line (exit 2), the others are enqueued, a repeat of the same content is a duplicate of its line; with --strict nothing is', async () => {
    const c = customer();
    const other = JSON.stringify({ type: 'CustomerCancels', customerId: c, eventId: 'other-1', occurredAt: '2025-06-01T00:00:00Z' });
    const input = `${usage(c, 5)}\n${usage(c, 500_000)}\n${other}\n${usage(c, 5)}\n`;

    const strict = governor(['enqueue', '--file', '-', '--strict', ...args()], { input });
    expect(strict.code, strict.stderr).toBe(2);
    expect(strict.stderr).toMatch(/line 2: \$\.eventId: IDEMPOTENCY_KEY_REUSED: eventId "dup-1" .*different content.*line 1 has it/);
    expect(await jobsOf(c)).toHaveLength(0);

    const run = governor(['enqueue', '--file', '-', ...args()], { input });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('governor: 2 enqueued, 1 rejected, 1 repeated (a duplicate of an earlier line, not enqueued again)');
    expect(run.stderr).toMatch(/line 2: .*IDEMPOTENCY_KEY_REUSED/);
    // In the input's order; line 4 repeats line 1 and says so instead of passing for a second event.
    expect(run.stdout).toBe('dup-1\nother-1\ndup-1 duplicate of line 1\n');
    const jobs = await jobsOf(c);
    expect(jobs).toHaveLength(2);
    expect(jobs.map(quantityOf).find((e) => e.type === 'UsageRecorded')).toMatchObject({ quantity: 5 });
  });

  it('in bulk, an eventId queued before with other content is reported like a bad line and the rest is enqueued', async () => {
    const c = customer();
    expect(governor(['enqueue', '--json', usage(c, 5), ...args()]).code).toBe(0);
    const other = JSON.stringify({ type: 'CustomerCancels', customerId: c, eventId: 'other-2', occurredAt: '2025-06-01T00:00:00Z' });
    const run = governor(['enqueue', '--file', '-', ...args()], { input: `${usage(c, 7)}\n${other}\n` });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/governor: 1 enqueued, 1 rejected\n {2}line 1: .*IDEMPOTENCY_KEY_REUSED.*a job with it is in the queue/);
    const jobs = await jobsOf(c);
    expect(jobs).toHaveLength(2);
    expect(jobs.map(quantityOf).find((e) => e.type === 'UsageRecorded')).toMatchObject({ quantity: 5 });
  });

  it('after the event was handled (its job gone, its record in Redis): exit 2, nothing written; --wait on the same content says duplicate', async () => {
    const prefix = `${redis.prefix}:{handled}`;
    const node = await startNodeProcess('marketplace-node.ts', 'idem-node', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix });
    try {
      const c = customer();
      const subscribe = JSON.stringify({ type: 'CustomerSubscribes', customerId: c, eventId: 'sub-1', sku: 'PRO-MONTHLY', tier: 'professional' });
      const done = await governorAsync(['enqueue', '--json', subscribe, '--wait', '20', ...args(prefix)]);
      expect(done.code, done.stderr).toBe(0);
      const first = await governorAsync(['enqueue', '--json', usage(c, 5), '--wait', '20', ...args(prefix)]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      // The event's record, beside the orchestrator's state (its records hash), with its digest.
      const recordsKey = new RedisKeys(prefix).records({ entity: 'Orchestrator', key: c });
      const committed = await redis.client().hget(recordsKey, 'dup-1');
      expect(committed).toMatch(/"content":"[0-9a-f]{64}"/);
      // Only the record remains: the door must read it, not the kept job.
      for (const job of await jobsOf(c, prefix)) await job.remove();

      const reused = await governorAsync(['enqueue', '--json', usage(c, 500_000), '--wait', '20', ...args(prefix)]);
      expect(reused.code, reused.stdout).toBe(2);
      expect(reused.stderr).toMatch(/IdempotencyKeyReusedError \(IDEMPOTENCY_KEY_REUSED\): eventId "dup-1" of customer "c-[^"]+" was used before for an event with different content/);
      expect(await jobsOf(c, prefix)).toHaveLength(0);
      expect(await redis.client().hget(recordsKey, 'dup-1')).toBe(committed);

      const again = await governorAsync(['enqueue', '--json', usage(c, 5), '--wait', '20', ...args(prefix)]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).outcomes['dup-1']).toMatchObject({ status: 'duplicate', original: { status: 'completed' } });
    } finally {
      await node.kill('SIGTERM');
    }
  });
});

describe('governor enqueue --file: bounded error reports', () => {
  it(`300,000 bad lines: exit 2, the first ${REJECTIONS_SHOWN} printed and the rest counted`, () => {
    const file = join(tmpdir(), `governor-bad-${process.pid}-${Date.now()}.ndjson`);
    const bad = '{"type":"CustomerSubscribes","customerId":"c-1","sku":"PRO-MONTHLY","tier":"Professional"}\n';
    writeFileSync(file, bad.repeat(300_000));
    const run = governor(['enqueue', '--file', file, ...args()]);
    expect(run.code, run.stderr.slice(0, 2_000)).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(REJECTIONS_SHOWN + 2);
    expect(lines[0]).toBe('governor: 0 enqueued, 300000 rejected');
    expect(lines[1]).toMatch(/^ {2}line 1: \$\.tier: /);
    expect(lines.at(-1)).toBe(`  … and ${300_000 - REJECTIONS_SHOWN} more rejected lines (the first ${REJECTIONS_SHOWN} are shown)`);
    expect(run.stdout).toBe('');
  });
});
