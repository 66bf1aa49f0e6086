import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { marketplaceKinds } from '../../machines/index.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startBullmqNode } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { startNodeProcess } from '../fault/node-process.ts';
import { enqueueEvents } from '../../src/cli/enqueue/producer.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { governor, governorAsync } from './governor-command.ts';

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

/** The jobs waiting for a customer's orchestrator, in the partition queue a node would consume. */
async function jobsOf(customerId: string) {
  const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: customerId }), { connection: redis.client(), prefix: redis.prefix });
  try {
    // Other customers may hash to the same partition: keep this one's.
    const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
    return jobs.filter((job) => (job.data as { env: { to: { key: string } } }).env.to.key === customerId);
  } finally {
    await queue.close();
  }
}

/** Every key under the test prefix. */
async function keys(): Promise<string[]> {
  return redis.client().keys(`${redis.prefix}:*`);
}

/** The keys that appeared since `before`: nothing written means none (earlier tests' rate limits may expire meanwhile). */
async function newKeys(before: readonly string[]): Promise<string[]> {
  return (await keys()).filter((key) => !before.includes(key));
}

function customer(): string {
  return `c-${++serial}-${Date.now().toString(36)}`;
}

const args = () => ['--redis', redis.url, '--prefix', redis.prefix];


function line(event: Record<string, unknown>): string {
  return JSON.stringify(event);
}

describe('governor enqueue', () => {
  it('enqueues one event given by type and fields, prints its id, and the job is in the partition queue', async () => {
    const c = customer();
    const run = governor(['enqueue', 'CustomerSubscribes', '--customer', c, '--sku', 'PRO-MONTHLY', '--tier', 'professional', ...args()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const ids = run.stdout.trim().split('\n');
    expect(ids).toHaveLength(1);
    const jobs = await jobsOf(c);
    expect(jobs).toHaveLength(1);
    const data = jobs[0]!.data as { v: number; env: { t: string; to: unknown; event: { type: string; event: Record<string, unknown>; receivedAt: number } } };
    expect(data.env.t).toBe('cast');
    expect(data.env.to).toEqual({ entity: 'Orchestrator', key: c });
    expect(data.env.event.type).toBe('lifecycle');
    expect(data.env.event.event).toMatchObject({ type: 'CustomerSubscribes', customerId: c, sku: 'PRO-MONTHLY', tier: 'professional', eventId: ids[0] });
    // Named by the event's type (what a dashboard lists), not by the `lifecycle` wrapper.
    expect(jobs[0]!.name).toBe('CustomerSubscribes');
    expect(typeof data.env.event.event['occurredAt']).toBe('string');
  });

  it('takes --json with a JSON report; the same eventId twice is one job', async () => {
    const c = customer();
    const event = line({ type: 'UsageExceedsQuota', customerId: c, eventId: 'e:1', occurredAt: '2026-11-01T00:00:00Z', resource: 'executions', usage: 120, limit: 100 });
    for (let i = 0; i < 2; i++) {
      const run = governor(['enqueue', '--json', event, ...args()]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ enqueued: ['e:1'], rejected: [] });
    }
    expect(await jobsOf(c)).toHaveLength(1);
  });

  it('turns numeric field flags into numbers where the schema wants them', async () => {
    const c = customer();
    const run = governor(['enqueue', 'UsageExceedsQuota', '--customer', c, '--resource', 'executions', '--usage', '120', '--limit=100', ...args()]);
    expect(run.code, run.stderr).toBe(0);
    const [job] = await jobsOf(c);
    expect((job!.data as { env: { event: { event: unknown } } }).env.event.event).toMatchObject({ usage: 120, limit: 100 });
  });

  it.each([
    ['an unknown type', ['NoSuchEvent', '--customer', 'c-x'], '$.type'],
    ['an unknown field', ['CustomerSubscribes', '--customer', 'c-x', '--sku', 'PRO', '--tier', 'professional', '--colour', 'red'], '$.colour'],
    ['a __proto__ field', ['CustomerSubscribes', '--customer', 'c-x', '--sku', 'PRO', '--tier', 'professional', '--__proto__', 'x'], '__proto__'],
    ['a bad enum value', ['CustomerSubscribes', '--customer', 'c-x', '--sku', 'PRO', '--tier', 'gold'], '$.tier'],
    ['a hostile JSON key', ['--json', '{"type":"CustomerCancels","customerId":"c-x","__proto__":{"admin":true}}'], '__proto__'],
    ['an oversize event', ['--json', line({ type: 'CustomerCancels', customerId: 'c-x', reason: 'x'.repeat(70_000) })], 'max_size'],
    ['text that is not JSON', ['--json', '{"type":'], 'not_json'],
  ])('refuses %s with exit 2, naming the field, and writes nothing', async (_name, eventArgs, field) => {
    const before = await keys();
    const run = governor(['enqueue', ...eventArgs, ...args()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing was enqueued');
    expect(run.stderr).toContain(field);
    // --json <event> answers with a JSON report; either way no id is printed.
    if (eventArgs[0] === '--json') expect(JSON.parse(run.stdout)).toMatchObject({ enqueued: [] });
    else expect(run.stdout).toBe('');
    expect(await newKeys(before)).toEqual([]);
  });

  it('bulk NDJSON from stdin: enqueues the good lines and reports the bad line by number', async () => {
    const c1 = customer();
    const c2 = customer();
    const input = [
      line({ type: 'CustomerSubscribes', customerId: c1, sku: 'PRO-MONTHLY', tier: 'professional' }),
      '',
      line({ type: 'CustomerSubscribes', customerId: c2, sku: 'PRO-MONTHLY', tier: 'nope' }),
      line({ type: 'CustomerCancels', customerId: c1, eventId: 'cancel-1' }),
    ].join('\n');
    const run = governor(['enqueue', '--file', '-', '--batch', '1', ...args()], { input });
    expect(run.code).toBe(2);
    const ids = run.stdout.trim().split('\n');
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe('cancel-1');
    expect(run.stderr).toContain('2 enqueued, 1 rejected');
    expect(run.stderr).toContain('line 3: $.tier');
    const jobs = await jobsOf(c1);
    expect(jobs.map((j) => (j.data as { env: { event: { event: { type: string } } } }).env.event.event.type).sort()).toEqual(['CustomerCancels', 'CustomerSubscribes']);
    expect(await jobsOf(c2)).toHaveLength(0);
  });

  it('bulk --json prints a report of ids and rejected lines', async () => {
    const c = customer();
    const input = `${line({ type: 'CustomerCancels', customerId: c, eventId: 'r-1' })}\nnot json\n`;
    const run = governor(['enqueue', '--file', '-', '--json', ...args()], { input });
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { enqueued: string[]; rejected: { line: number; issues: string[] }[] };
    expect(report.enqueued).toEqual(['r-1']);
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]!.line).toBe(2);
    expect(report.rejected[0]!.issues[0]).toContain('not_json');
  });

  it('bulk --strict with one bad line enqueues nothing and exits 2', async () => {
    const c = customer();
    const input = [line({ type: 'CustomerSubscribes', customerId: c, sku: 'PRO-MONTHLY', tier: 'professional' }), line({ type: 'Bogus', customerId: c })].join('\n');
    const before = await keys();
    const run = governor(['enqueue', '--file', '-', '--strict', ...args()], { input });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 2');
    expect(run.stderr).toContain('nothing was enqueued');
    expect(run.stdout).toBe('');
    expect(await newKeys(before)).toEqual([]);
  });

  it('--wait with no node running reports the event pending and exits 3', () => {
    const run = governor(['enqueue', 'CustomerCancels', '--customer', customer(), '--wait', '1', ...args()]);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^\S+ pending\n$/);
    expect(run.stderr).toContain('is a node running');
  });

  it('without a Redis URL exits 2 with the fix', () => {
    const run = governor(['enqueue', 'CustomerCancels', '--customer', 'c-1'], { env: { REDIS_URL: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--redis');
    expect(run.stderr).toContain('REDIS_URL');
    // A bad event is reported as such even without Redis, so events can be checked anywhere.
    const bad = governor(['enqueue', 'CustomerSubscribes', '--customer', 'c-1', '--sku', 'PRO', '--tier', 'gold'], { env: { REDIS_URL: '' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('$.tier');
  });

  it('with Redis unreachable (a closed port) exits 3 quickly', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const started = Date.now();
    const run = governor(['enqueue', 'CustomerCancels', '--customer', 'c-1', '--redis', `redis://127.0.0.1:${port}`]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('cannot reach Redis');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('enqueueEvents', () => {
  it('sends to the queue of the nodes’ placement: in distributed placement, the orchestrators’ own partition queue', async () => {
    const c = customer();
    const checked = parseLifecycleEvent({ type: 'CustomerCancels', customerId: c, eventId: 'placed-1', occurredAt: '2026-12-01T00:00:00Z' });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const { ids } = await enqueueEvents({ url: redis.url, prefix: redis.prefix, placement: 'distributed', batch: 10 }, [checked.event]);
    expect(ids).toEqual(['placed-1']);
    const partition = createHash('sha256').update(c).digest().readUInt32BE(0) % 16;
    const queue = new Queue(`{p.Orchestrator.${partition}}`, { connection: redis.client(), prefix: redis.prefix });
    try {
      const jobs = await queue.getJobs(['waiting']);
      expect(jobs.map((job) => (job.data as { env: { to: { key: string } } }).env.to.key)).toContain(c);
    } finally {
      await queue.close();
    }
    expect(await jobsOf(c)).toEqual([]);
  });
});

describe('governor enqueue with a BullMQ node running', () => {
  it("the node processes events from governor enqueue (with and without --wait) and from a plain BullMQ producer: the orchestrator commits them", async () => {
    // A prefix of its own: the node's heartbeats write keys, which the tests above count.
    const prefix = `${redis.prefix}:{e2e}`;
    const started = await startBullmqNode({
      url: redis.url,
      prefix,
      name: 'e2e',
      kinds: marketplaceKinds({ pseudonymKey: 'test-pseudonym-key-0123456789abcdef' }),
      logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
    });
    try {
      const c = customer();
      const run = governor(['enqueue', 'CustomerSubscribes', '--customer', c, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url, '--prefix', prefix]);
      expect(run.code, run.stderr).toBe(0);
      const eventId = run.stdout.trim();
      // Its record, committed beside the orchestrator's state (its records hash).
      const recordsKey = new RedisKeys(prefix).records({ entity: 'Orchestrator', key: c });
      const client = redis.client();
      const deadline = Date.now() + 20_000;
      let committed: string | null = null;
      while (Date.now() < deadline) {
        committed = await client.hget(recordsKey, eventId);
        if (committed !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(JSON.parse(committed!)).toMatchObject({ status: 'completed' });
      expect(await started.transport.listDeadLetters()).toEqual([]);

      // --wait: the command waits for the node (run without blocking this process, which hosts the node).
      const waited = await governorAsync(['enqueue', 'CustomerCancels', '--customer', c, '--wait', '20', '--redis', redis.url, '--prefix', prefix]);
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stdout).toMatch(/^\S+ completed\n$/);

      // A plain BullMQ producer, with no Governor code, using only the documented job format.
      const other = customer();
      const partition = createHash('sha256').update(other).digest().readUInt32BE(0) % 16;
      const plain = new Queue(`{p.${partition}}`, { connection: redis.client(), prefix });
      const plainEvent = { type: 'CustomerSubscribes', eventId: 'plain-1', customerId: other, occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' };
      // The message id is messageIdOf(event), and the job id carries the target (README, "Job format for producers").
      const plainId = `ev.${other}/plain-1`;
      const plainData = { v: 1, id: plainId, env: { t: 'cast', to: { entity: 'Orchestrator', key: other }, event: { type: 'lifecycle', event: plainEvent, receivedAt: Date.now() } } };
      await plain.add('CustomerSubscribes', plainData, { jobId: `Orchestrator/${encodeURIComponent(other)}/${plainId}`, attempts: 1 });
      await plain.close();
      const plainKey = new RedisKeys(prefix).records({ entity: 'Orchestrator', key: other });
      const plainDeadline = Date.now() + 20_000;
      let plainRecord: string | null = null;
      while (Date.now() < plainDeadline && (plainRecord = await client.hget(plainKey, 'plain-1')) === null) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(plainRecord).not.toBeNull();
    } finally {
      await started.stop({ timeoutMs: 5_000 });
    }
  });
});

describe('governor enqueue --wait against a marketplace node process', () => {
  it('a file with a repeated line, a rejected event and a bad line: the repeat is a duplicate of its line, and the bad line sets the exit code (2 over 1)', async () => {
    const prefix = `${redis.prefix}:{file-wait}`;
    const node = await startNodeProcess('marketplace-node.ts', 'file-wait-node', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix });
    try {
      const c = customer();
      const subscribe = line({ type: 'CustomerSubscribes', customerId: c, eventId: `${c}-sub`, sku: 'PRO-MONTHLY', tier: 'professional', occurredAt: '2025-06-01T00:00:00Z' });
      const upgrade = line({ type: 'CustomerUpgrades', customerId: c, eventId: `${c}-up`, fromSku: 'ENT-MONTHLY', toSku: 'PRO-MONTHLY', occurredAt: '2025-06-01T00:00:01Z' });
      const file = join(tmpdir(), `governor-file-wait-${process.pid}-${Date.now()}.ndjson`);
      writeFileSync(file, `${subscribe}\n${subscribe}\n${upgrade}\n{"type":"Nope"}\n`);
      const run = await governorAsync(['enqueue', '--file', file, '--wait', '20', '--redis', redis.url, '--prefix', prefix]);
      expect(run.code, run.stderr).toBe(2);
      const printed = run.stdout.trimEnd().split('\n');
      expect(printed).toHaveLength(3);
      expect(printed[0]).toBe(`${c}-sub completed`);
      expect(printed[1]).toBe(`${c}-sub duplicate of line 1 (completed)`);
      expect(printed[2]).toMatch(new RegExp(`^${c}-up rejected: \\S`));
      expect(run.stderr).toContain('governor: 2 enqueued, 1 rejected, 1 repeated');
      expect(run.stderr).toMatch(/line 4: /);
    } finally {
      await node.kill('SIGTERM');
    }
  });

  it('tells completed from rejected (with the reason) and reports repeats as duplicates of the original outcome, with exit codes 0 and 1', async () => {
    const prefix = `${redis.prefix}:{wait}`;
    const node = await startNodeProcess('marketplace-node.ts', 'wait-node', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix });
    try {
      const c = customer();
      const target = ['--redis', redis.url, '--prefix', prefix];
      const subscribe = line({ type: 'CustomerSubscribes', customerId: c, eventId: `${c}-sub`, sku: 'PRO-MONTHLY', tier: 'professional' });
      const done = await governorAsync(['enqueue', '--json', subscribe, '--wait', '20', ...target]);
      // --json with an event prints the JSON report: the outcome is there with its commit time, and
      // a subscribe's with the subscriptionId its renewals must name.
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ enqueued: [`${c}-sub`], outcomes: { [`${c}-sub`]: { status: 'completed', at: expect.any(Number), subscriptionId: `${c}-sub` } } });

      const upgrade = ['enqueue', 'CustomerUpgrades', '--customer', c, '--fromSku', 'ENT-MONTHLY', '--toSku', 'PRO-MONTHLY', '--wait', '20', ...target];
      const refused = await governorAsync(upgrade);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stdout).toMatch(/^\S+ rejected: \S.*\n$/);
      const refusedId = refused.stdout.split(' ')[0]!;
      const reason = refused.stdout.slice(refused.stdout.indexOf(': ') + 2).trim();

      const again = await governorAsync(['enqueue', '--json', subscribe, '--wait', '20', ...target]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).outcomes[`${c}-sub`]).toMatchObject({ status: 'duplicate', original: { status: 'completed' } });

      const refusedAgain = await governorAsync([
        'enqueue', 'CustomerUpgrades', '--customer', c, '--eventId', refusedId, '--fromSku', 'ENT-MONTHLY', '--toSku', 'PRO-MONTHLY', '--wait', '20', ...target,
      ]);
      expect(refusedAgain.code, refusedAgain.stderr).toBe(1);
      expect(refusedAgain.stdout).toBe(`${refusedId} duplicate (rejected: ${reason})\n`);
    } finally {
      await node.kill('SIGTERM');
    }
  });
});
