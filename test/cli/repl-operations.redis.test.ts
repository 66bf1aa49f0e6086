import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, type AdminReply, type AdminRequest } from '../../src/cli/admin-protocol.ts';
import { checkEventValue } from '../../src/cli/enqueue/events.ts';
import { readOutcomes } from '../../src/cli/enqueue/outcome-record.ts';
import { messageIdOf } from '../../src/cli/enqueue/producer.ts';
import { adminCommands } from '../../src/cli/repl.ts';
import type { Admin } from '../../src/cli/admin.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { addDeadLetter } from '../../src/transport/bullmq/dead-letters.ts';
import { jobIdFor, JOB_FORMAT_VERSION } from '../../src/transport/bullmq/job-format.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNode } from './governor-command.ts';

/**
 * The REPL's application commands against a live node (the real binary) on a prefix of its own,
 * which also checks `governor start --prefix`: enqueue and dlq_replay signed and run node-side,
 * queues, dlq and audit_verify read straight from Redis. Every refusal is checked in Redis.
 */

const TOKEN = 'ops-admin-token';
const PARTITIONS = 16;
let PREFIX: string;
let keys: RedisKeys;
let redis: RedisHandle;
let node: ChildProcess;
let client: Redis;
let producer: GovernorProducer;
const queues = new Map<string, Queue>();

beforeAll(async () => {
  redis = await startRedis();
  PREFIX = `{${redis.prefix}}`;
  keys = new RedisKeys(PREFIX);
  client = redis.client();
  node = await startGovernorNode(['--redis', redis.url, '--prefix', PREFIX, '--name', 'n1'], { GOVERNOR_ADMIN_TOKEN: TOKEN, GOVERNOR_PSEUDONYM_KEY: 'k'.repeat(43) });
  producer = await GovernorProducer.connect({ url: redis.url, prefix: PREFIX, partitions: PARTITIONS });
}, 30_000);
afterAll(async () => {
  node?.kill('SIGTERM');
  await Promise.all([...queues.values()].map((q) => q.close()));
  await producer?.close();
  await redis?.stop();
});

function queue(name: string, prefix = PREFIX): Queue {
  const id = `${prefix}\u0000${name}`;
  let q = queues.get(id);
  if (!q) queues.set(id, (q = new Queue(name, { connection: client, prefix })));
  return q;
}

type Env = Record<string, string>;
const WITH_TOKEN: Env = { GOVERNOR_ADMIN_TOKEN: TOKEN };
const NO_TOKEN: Env = { GOVERNOR_ADMIN_TOKEN: '' };
const repl = (expr: string, env: Env = WITH_TOKEN, prefix = PREFIX, extra: string[] = []) =>
  governor(['repl', '--redis', redis.url, '--prefix', prefix, ...extra, '--eval', expr], { env });
/** Runs a command whose result is printed as JSON, and parses it. */
function replJson<T>(expr: string, env: Env = WITH_TOKEN, prefix = PREFIX, extra: string[] = []): T {
  const run = repl(`(${expr}).then((v) => JSON.stringify(v))`, env, prefix, extra);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** A request pushed straight onto the node's admin list, as anyone who can write Redis could. */
async function rawRequest(command: string, args: unknown[], signWith?: string): Promise<AdminReply> {
  const unsigned: AdminRequest = { id: randomUUID(), node: 'n1', command, args, nonce: randomUUID(), issuedAt: Date.now() };
  const request = signWith ? sign(unsigned, signWith) : unsigned;
  await client.rpush(keys.adminRequests('n1'), JSON.stringify(request));
  const reply = await client.blpop(keys.adminReply(request.id), 10);
  expect(reply, `no reply to ${command}`).not.toBeNull();
  return JSON.parse(reply![1]) as AdminReply;
}

/** Every job in every partition queue, in any state: what a refused command must not change. */
async function partitionJobs(): Promise<number> {
  let total = 0;
  for (let i = 0; i < PARTITIONS; i++) {
    const c = await queue(`{p.${i}}`).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children');
    total += Object.values(c).reduce((a, b) => a + b, 0);
  }
  return total;
}

/** The job an event becomes in its partition queue (undefined: it was never enqueued). */
function jobOf(event: Pick<LifecycleEvent, 'customerId' | 'eventId'>) {
  const to = { entity: 'Orchestrator', key: event.customerId };
  return queue(producer.queueOf(to)).getJob(jobIdFor(to, messageIdOf(event)));
}

const orchestratorState = (customerId: string) => client.hget(keys.state({ entity: 'Orchestrator', key: customerId }), 'd');

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const outcomeOf = async (customerId: string, eventId: string) => (await readOutcomes(client, keys, [{ customerId, eventId }])).get(eventId);

function subscribe(customerId: string, eventId: string, extra: Record<string, unknown> = {}): string {
  return `enqueue(${JSON.stringify({ type: 'CustomerSubscribes', customerId, eventId, sku: 'PRO-MONTHLY', tier: 'professional', ...extra })})`;
}

/** A validated event parked in the DLQ as a node would have parked its job. */
async function parkedLetter(customerId: string, eventId: string): Promise<{ id: string; event: LifecycleEvent }> {
  const checked = checkEventValue({ type: 'CustomerSubscribes', customerId, eventId, sku: 'PRO-MONTHLY', tier: 'professional' });
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  const to = { entity: 'Orchestrator', key: customerId };
  const messageId = messageIdOf(checked.event);
  const job = {
    queueName: producer.queueOf(to),
    id: jobIdFor(to, messageId),
    name: 'lifecycle',
    data: { v: JOB_FORMAT_VERSION, id: messageId, env: { t: 'cast', to, event: { type: 'lifecycle', event: checked.event, receivedAt: Date.now() } } },
  } as unknown as Job;
  await addDeadLetter(queue('{dlq}'), job, 'parked by the test', 'n0', Date.now());
  return { id: `${job.queueName}~${job.id}`, event: checked.event };
}

describe('queues() reads every partition queue and the DLQ straight from Redis', () => {
  it('on a prefix with no node and no keys: every queue at zero, not an error', () => {
    const counts = replJson<{ queue: string; depth: number; active: number; failed: number }[]>('queues()', NO_TOKEN, '{empty-prefix}', ['--node', 'ghost']);
    expect(counts.map((c) => c.queue)).toEqual([...Array.from({ length: PARTITIONS }, (_, i) => `{p.${i}}`), '{dlq}']);
    for (const c of counts) expect(c).toEqual({ queue: c.queue, depth: 0, active: 0, failed: 0 });
  });

  it('counts waiting and delayed jobs as depth, and dead letters in the DLQ', async () => {
    const scratch = '{scratch-prefix}';
    await queue('{p.2}', scratch).add('x', {}, { jobId: 'w-1' });
    await queue('{p.2}', scratch).add('x', {}, { jobId: 'd-1', delay: 3_600_000 });
    await queue('{dlq}', scratch).add('dead-letter', {}, { jobId: 'p.2~gone' });
    const counts = replJson<{ queue: string; depth: number }[]>('queues()', NO_TOKEN, scratch, ['--node', 'ghost', '--partitions', '4']);
    expect(counts).toEqual([
      { queue: '{p.0}', depth: 0, active: 0, failed: 0 },
      { queue: '{p.1}', depth: 0, active: 0, failed: 0 },
      { queue: '{p.2}', depth: 2, active: 0, failed: 0 },
      { queue: '{p.3}', depth: 0, active: 0, failed: 0 },
      { queue: '{dlq}', depth: 1, active: 0, failed: 0 },
    ]);
  });
});

describe('enqueue(event) goes through the node, signed', () => {
  it('returns the eventId, and the node handles the event', async () => {
    const run = repl(subscribe('c-enq', 'e-enq-1'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('e-enq-1');
    const outcome = await poll(() => outcomeOf('c-enq', 'e-enq-1'), (o) => o !== undefined, 'the outcome of e-enq-1');
    expect(outcome).toMatchObject({ status: 'completed' });
  });

  it('is refused without the token, with a wrong token and unsigned; nothing reaches Redis', async () => {
    await poll(() => outcomeOf('c-enq', 'e-enq-1'), (o) => o !== undefined, 'the earlier event to settle');
    const before = await partitionJobs();
    const bare = repl(subscribe('c-refused', 'e-ref-1'), NO_TOKEN);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('need GOVERNOR_ADMIN_TOKEN');
    const forged = repl(subscribe('c-refused', 'e-ref-2'), { GOVERNOR_ADMIN_TOKEN: 'not-the-token' });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('ADMIN_BAD_SIGNATURE');
    const event = { type: 'CustomerSubscribes', customerId: 'c-refused', eventId: 'e-ref-3', occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' };
    expect(await rawRequest('enqueue', [event])).toMatchObject({ ok: false, code: 'ADMIN_UNSIGNED' });

    expect(await partitionJobs()).toBe(before);
    for (const eventId of ['e-ref-1', 'e-ref-2', 'e-ref-3']) expect(await jobOf({ customerId: 'c-refused', eventId })).toBeUndefined();
    expect(await orchestratorState('c-refused')).toBeNull();
  });

  it('refuses a bad event in one line naming the field and the rule, enqueues nothing, and the REPL goes on', async () => {
    const bad = subscribe('c-bad', 'e-bad-1', { tier: 'platinum' });
    const run = repl(bad);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n').filter((line) => !line.startsWith('governor: attached'));
    expect(lines).toHaveLength(1);
    expect(run.stderr).toMatch(/EVENT_REJECTED: the event was not accepted, nothing was enqueued: \$\.tier: .*\(enum\)/);

    const session = governor(['repl', '--redis', redis.url, '--prefix', PREFIX], { input: `${bad}\nstats()\n`, env: WITH_TOKEN });
    expect(session.code, session.stderr).toBe(0);
    expect(session.stdout).toContain('EVENT_REJECTED');
    expect(session.stdout).toContain("node: 'n1'");

    // Past the REPL's own check, straight to the node: the node validates too.
    const event = { type: 'CustomerSubscribes', customerId: 'c-bad', eventId: 'e-bad-2', sku: 'PRO-MONTHLY', tier: 'platinum' };
    const reply = await rawRequest('enqueue', [event], TOKEN);
    expect(reply).toMatchObject({ ok: false, code: 'EVENT_REJECTED' });
    expect((reply as { message: string }).message).toContain('$.tier');

    for (const eventId of ['e-bad-1', 'e-bad-2']) expect(await jobOf({ customerId: 'c-bad', eventId })).toBeUndefined();
    expect(await orchestratorState('c-bad')).toBeNull();
  });
});

describe('enqueue(event) through the tenant rate limit', () => {
  it('refuses an event of a tenant over its rate as EVENT_THROTTLED, writing nothing for it', async () => {
    // A tenant whose backlog reaches a minute ahead (the throttle's state: its theoretical arrival
    // time on Redis' clock), as a flood at many times its rate leaves it.
    const [seconds] = await client.time();
    await client.set(keys.tenantRate('c-flood'), String(Number(seconds) * 1000 + 60_000), 'PX', 120_000);
    const run = repl(subscribe('c-flood', 'e-flood-last'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/EVENT_THROTTLED: customer c-flood is over the community tier's 10 events\/s, nothing was enqueued: retry after \d+\.\d s/);
    expect(await jobOf({ customerId: 'c-flood', eventId: 'e-flood-last' })).toBeUndefined();
  });
});

describe('dlq() reads, dlq_replay(id) is signed', () => {
  it('lists a dead letter without the token; a signed replay sends it back and the node handles it', async () => {
    const { id } = await parkedLetter('c-dlq', 'e-dlq-1');
    const letters = replJson<{ id: string; reason: string }[]>('dlq()', NO_TOKEN);
    expect(letters).toContainEqual(expect.objectContaining({ id, reason: 'parked by the test' }));

    const run = repl(`dlq_replay(${JSON.stringify(id)})`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`queue: '${id.split('~')[0]}'`);
    expect(await queue('{dlq}').getJob(id)).toBeUndefined();
    const outcome = await poll(() => outcomeOf('c-dlq', 'e-dlq-1'), (o) => o !== undefined, 'the replayed event handled');
    expect(outcome).toMatchObject({ status: 'completed' });
  });

  it('refuses a replay with a wrong token or unsigned: the letter stays, its queue unchanged', async () => {
    const { id } = await parkedLetter('c-dlq2', 'e-dlq-2');
    const before = await partitionJobs();
    const forged = repl(`dlq_replay(${JSON.stringify(id)})`, { GOVERNOR_ADMIN_TOKEN: 'not-the-token' });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('ADMIN_BAD_SIGNATURE');
    const bare = repl(`dlq_replay(${JSON.stringify(id)})`, NO_TOKEN);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('need GOVERNOR_ADMIN_TOKEN');
    expect(await rawRequest('dlq_replay', [id])).toMatchObject({ ok: false, code: 'ADMIN_UNSIGNED' });

    expect(await queue('{dlq}').getJob(id)).toBeDefined();
    expect(await partitionJobs()).toBe(before);
    expect(await orchestratorState('c-dlq2')).toBeNull();
  });

  it('says clearly that an unknown id is no dead letter', () => {
    const run = repl("dlq_replay('p.0~nope')");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('DLQ_NOT_FOUND');
    expect(run.stderr).toContain('no dead letter "p.0~nope"');
  });
});

describe('audit_verify() verifies the committed receipt chains, read-only', () => {
  type Check = { customerId: string; ok: boolean; length?: number; kind?: string; position?: number; found?: boolean };

  it("verifies a customer's chain, and every chain without a customer", async () => {
    await poll(() => client.hget(keys.state({ entity: 'Receipts', key: 'c-enq' }), 'd'), (d) => d !== null, 'the receipts of c-enq');
    expect(replJson<Check>("audit_verify('c-enq')", NO_TOKEN)).toMatchObject({ customerId: 'c-enq', ok: true, length: 1 });
    const all = replJson<{ ok: boolean; chains: number; damaged: unknown[] }>('audit_verify()', NO_TOKEN);
    expect(all).toMatchObject({ ok: true, damaged: [] });
    expect(all.chains).toBeGreaterThanOrEqual(1);
    expect(replJson<Check>("audit_verify('nobody')", NO_TOKEN)).toEqual({ customerId: 'nobody', ok: true, length: 0, found: false });
  });

  it('reports an edited receipt as damage at its position', async () => {
    // A chain of its own, enqueued as governor enqueue would: the copy below is the forgery.
    const checked = checkEventValue({ type: 'CustomerSubscribes', customerId: 'c-chain', eventId: 'e-chain-1', sku: 'PRO-MONTHLY', tier: 'professional' });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const to = { entity: 'Orchestrator', key: 'c-chain' };
    await producer.send(to, { type: 'lifecycle', event: checked.event, receivedAt: Date.now() }, { id: messageIdOf(checked.event) });
    const stored = await poll(() => client.hget(keys.state({ entity: 'Receipts', key: 'c-chain' }), 'd'), (d) => d !== null, 'the receipts of c-chain');
    // The receipts are in the journal beside the state: the forgery copies both, one receipt edited.
    const journal = await client.lrange(keys.journal({ entity: 'Receipts', key: 'c-chain' }), 0, -1);
    const receipt = JSON.parse(journal[0]!) as { entry: { type: string } };
    receipt.entry.type = 'CustomerCancels';
    const forgedKey = keys.state({ entity: 'Receipts', key: 'c-forged' });
    const forgedJournal = keys.journal({ entity: 'Receipts', key: 'c-forged' });
    await client.hset(forgedKey, 'd', stored!, 'v', '1');
    await client.rpush(forgedJournal, JSON.stringify(receipt), ...journal.slice(1));
    try {
      expect(replJson<Check>("audit_verify('c-chain')", NO_TOKEN)).toMatchObject({ customerId: 'c-chain', ok: true, length: 1 });
      const forged = replJson<Check>("audit_verify('c-forged')", NO_TOKEN);
      expect(forged, JSON.stringify(forged)).toMatchObject({ customerId: 'c-forged', ok: false, position: 0, kind: 'edited' });
      const all = replJson<{ ok: boolean; damaged: Check[] }>('audit_verify()', NO_TOKEN);
      expect(all.ok).toBe(false);
      expect(all.damaged.map((d) => d.customerId)).toEqual(['c-forged']);
    } finally {
      await client.del(forgedKey, forgedJournal);
    }
  });
});

describe('one command table, on the node and in help()', () => {
  const names = Object.keys(adminCommands({} as Admin, () => undefined));

  it('has every new command in help(), the mutating ones marked (admin)', () => {
    const run = repl('help()', NO_TOKEN);
    expect(run.code, run.stderr).toBe(0);
    for (const name of names) expect(run.stdout).toContain(`${name}(`);
    expect(run.stdout).toMatch(/enqueue\(.*\(admin\)/);
    expect(run.stdout).toMatch(/dlq_replay\(id\).*\(admin\)/);
    expect(run.stdout).not.toMatch(/queues\(\).*\(admin\)/);
    expect(run.stdout).not.toMatch(/audit_verify\(.*\(admin\)/);
  });

  it('the node knows every command of the table (trace refused as not remote)', async () => {
    for (const name of names) {
      const reply = await rawRequest(name, [], TOKEN);
      if (name === 'trace') expect(reply).toMatchObject({ ok: false, code: 'ADMIN_NOT_REMOTE' });
      else expect(reply.ok === true || reply.code !== 'ADMIN_UNKNOWN_COMMAND', `${name}: ${JSON.stringify(reply)}`).toBe(true);
    }
  });

  it('GOVERNOR_PREFIX stands for --prefix', () => {
    const run = governor(['repl', '--redis', redis.url, '--eval', 'stats()'], { env: { GOVERNOR_PREFIX: PREFIX, GOVERNOR_ADMIN_TOKEN: '' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("node: 'n1'");
    const other = governor(['repl', '--redis', redis.url, '--eval', 'stats()'], { env: { GOVERNOR_PREFIX: '', GOVERNOR_ADMIN_TOKEN: '' } });
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('no live Governor node');
  });
});
