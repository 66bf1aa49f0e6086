/**
 * The producer contract end to end (issue 21): events written with plain `bullmq` exactly as the
 * README's "Job format for producers" says, against two real `governor start --redis` node
 * processes. Valid events are processed with receipts; invalid ones (the bare event the old README
 * showed, an unknown type, an invalid tier, an event sent to another customer's orchestrator) are
 * dead-lettered at once with a reason naming the field; nothing is parked and every partition
 * queue drains. The producing side imports nothing from `src/`: the partition, message id and
 * job id are computed here as the README says.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const PARTITIONS = 16;

// ── the producer, as the README writes it ─────────────────────────────────────────────────────

/** `partition = uint32_be(sha256(utf8(key))[0..4]) mod partitions` */
function partitionOf(key: string): number {
  return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0) % PARTITIONS;
}

/** `ev.<customerId>/<eventId>`, ":" written "|" */
function messageIdOf(event: { customerId: string; eventId: string }): string {
  return `ev.${event.customerId.replaceAll(':', '|')}/${event.eventId.replaceAll(':', '|')}`;
}

type Event = Record<string, unknown> & { type: string; eventId: string; customerId: string };

interface ProducedJob {
  readonly key: string;
  readonly name: string;
  readonly jobId: string;
  readonly data: unknown;
}

/** The documented job for an event; `key` is its customer unless a test sends it elsewhere. */
function lifecycleJob(event: Event, key = event.customerId): ProducedJob {
  const id = messageIdOf(event);
  return {
    key,
    name: event.type,
    jobId: `Orchestrator/${encodeURIComponent(key)}/${id}`,
    data: { v: 1, id, env: { t: 'cast', to: { entity: 'Orchestrator', key }, event: { type: 'lifecycle', event, receivedAt: Date.now() } } },
  };
}

let serial = 0;
const occurredAt = () => new Date().toISOString();
const subscribe = (customerId: string, overrides: Record<string, unknown> = {}): Event => ({
  type: 'CustomerSubscribes',
  eventId: `sub-${++serial}`,
  customerId,
  occurredAt: occurredAt(),
  sku: 'PRO-MONTHLY',
  tier: 'professional',
  ...overrides,
});
const usage = (customerId: string): Event => ({
  type: 'UsageRecorded',
  eventId: `use-${++serial}`,
  customerId,
  occurredAt: occurredAt(),
  metric: 'compute_gb_hours',
  quantity: '0.25',
  idempotencyKey: `u-${serial}`,
});

// ── the test ───────────────────────────────────────────────────────────────────────────────────

let redis: RedisHandle;
let prefix: string;
const nodes: { child: ChildProcess; stderr: () => string }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  prefix = `${redis.prefix}:{contract}`;
  for (const name of ['contract-1', 'contract-2']) {
    const child = await startGovernorNode(['--redis', redis.url, '--prefix', prefix, '--name', name], {
      GOVERNOR_PSEUDONYM_KEY: 'producer-contract-pseudonym-key',
      GOVERNOR_TELEMETRY: '0',
      // This test finds each refusal's log line by the raw job id the producer chose; customer ids
      // in logs are pseudonymised by default (test/e2e/operator-journey.redis.test.ts).
      GOVERNOR_LOG_CUSTOMER_IDS: '1',
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-200_000)));
    nodes.push({ child, stderr: () => stderr });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(
    nodes.map(({ child }) =>
      child.exitCode === null && child.signalCode === null ? new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) : undefined,
    ),
  );
  await redis?.stop();
}, 60_000);

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  // A generous bound only so that a broken node fails the test instead of hanging it.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last: ${JSON.stringify(value)?.slice(0, 2_000)}\n${nodes.map((n) => n.stderr().slice(-3_000)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}


describe('a producer writing the documented job format with plain bullmq, two node processes', () => {
  it('processes valid events with receipts, dead-letters invalid ones with the field named, parks nothing, drains every partition', async () => {
    const good = ['pc-acme:eu', 'pc-beta', 'pc-gamma'];
    const valid: Event[] = good.flatMap((c) => [subscribe(c), usage(c)]);

    // The bare event, exactly as the old README's example wrote it: id = eventId, env.event = the event.
    const bareEvent = subscribe('pc-acme:eu');
    const bare: ProducedJob = {
      key: bareEvent.customerId,
      name: bareEvent.type,
      jobId: `Orchestrator/${encodeURIComponent(bareEvent.customerId)}/${bareEvent.eventId}`,
      data: { v: 1, id: bareEvent.eventId, env: { t: 'cast', to: { entity: 'Orchestrator', key: bareEvent.customerId }, event: bareEvent } },
    };
    const unknownType = lifecycleJob(subscribe('pc-beta', { type: 'Bogus' }));
    const badTier = lifecycleJob(subscribe('pc-delta', { tier: 'Professional' }));
    // pc-epsilon's event, sent to pc-zeta's orchestrator.
    const wrongKey = lifecycleJob(subscribe('pc-epsilon'), 'pc-zeta');
    const invalid = [bare, unknownType, badTier, wrongKey];

    // Invalid jobs go first, into the same partitions as valid ones behind them: the partition must keep flowing.
    const jobs = [...invalid, ...valid.map((event) => lifecycleJob(event))];
    const queues = new Map<string, Queue>();
    try {
      for (const job of jobs) {
        const name = `{p.${partitionOf(job.key)}}`;
        let queue = queues.get(name);
        if (!queue) queues.set(name, (queue = new Queue(name, { connection: redis.client(), prefix })));
        await queue.add(job.name, job.data, { jobId: job.jobId });
      }
    } finally {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    }

    const client = redis.client();
    const keys = new RedisKeys(prefix);
    // The orchestrator's handled records (beside its state), in the order it decided them.
    const handled = async (customer: string) =>
      Object.entries(await client.hgetall(keys.records({ entity: 'Orchestrator', key: customer })))
        .map(([eventId, text]) => ({ eventId, ...(JSON.parse(text) as { status: string; seq: number }) }))
        .sort((a, b) => a.seq - b.seq);

    // Every valid event completed: its outcome record is committed beside its orchestrator's state.
    for (const event of valid) {
      await poll(() => handled(event.customerId), (records) => records.some((r) => r.eventId === event.eventId), `the outcome of ${event.eventId}`);
    }
    for (const customer of good) {
      const records = await handled(customer);
      const expected = valid.filter((event) => event.customerId === customer).map((event) => ({ eventId: event.eventId, status: 'completed' }));
      // Only the valid events: nothing of the invalid ones of the same customers was recorded.
      expect(records.map((r) => ({ eventId: r.eventId, status: r.status }))).toEqual(expected);
      // Receipts are history: in the customer's journal beside the Receipts state.
      const receipts = (await client.lrange(keys.journal({ entity: 'Receipts', key: customer }), 0, -1)).map((text) => JSON.parse(text) as { entry: { eventId: string } });
      expect(receipts.map((r) => r.entry.eventId)).toEqual(expect.arrayContaining(expected.map((e) => e.eventId)));
    }

    // The invalid ones are dead letters, each with a reason naming the field.
    const dlq = await poll(
      async () => {
        const listed = await governor(['dlq', 'list', '--json', '--redis', redis.url, '--prefix', prefix]);
        return listed.code === 0 ? (JSON.parse(listed.stdout) as { jobId: string; reason: string }[]) : [];
      },
      (letters) => letters.length >= invalid.length,
      'the dead letters',
    );
    const reasonOf = (job: ProducedJob) => dlq.find((letter) => letter.jobId === job.jobId)?.reason;
    expect(dlq).toHaveLength(invalid.length);
    expect(reasonOf(bare)).toMatch(/Orchestrator takes lifecycle events wrapped: \{ type: "lifecycle", event: \{ type: "CustomerSubscribes", … \} \}, not the bare event/);
    expect(reasonOf(unknownType)).toMatch(/\$\.event\.type: unknown event type; expected one of CustomerSubscribes, .* \(unknown_event_type\), got "Bogus"/);
    expect(reasonOf(badTier)).toMatch(/\$\.event\.tier: must be one of "community", "professional", "enterprise" \(enum\), got "Professional"/);
    expect(reasonOf(wrongKey)).toMatch(/\$\.event\.customerId: must be the key of the Orchestrator it is sent to, "pc-zeta" \(key_mismatch\), got "pc-epsilon"/);

    // Nothing was written for them: no state for the customers that only sent invalid events.
    for (const customer of ['pc-delta', 'pc-epsilon', 'pc-zeta']) {
      expect(await client.exists(keys.state({ entity: 'Orchestrator', key: customer }), keys.state({ entity: 'Receipts', key: customer }))).toBe(0);
    }

    // Every partition queue drained, nothing active; failed, only the dead-lettered jobs, each
    // with its dead letter's reason (what Bull Board shows for it).
    const drained = await poll(
      async () => {
        const counts: Record<string, number> = {};
        for (let i = 0; i < PARTITIONS; i++) {
          const queue = new Queue(`{p.${i}}`, { connection: redis.client(), prefix });
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          await queue.close();
          counts[`{p.${i}}`] = Object.values(c).reduce((a, b) => a + b, 0);
        }
        return counts;
      },
      (counts) => Object.values(counts).every((n) => n === 0),
      'every partition queue to drain',
    );
    expect(Object.values(drained).every((n) => n === 0)).toBe(true);
    const failed: { jobId: string | undefined; failedReason: string }[] = [];
    for (let i = 0; i < PARTITIONS; i++) {
      const queue = new Queue(`{p.${i}}`, { connection: redis.client(), prefix });
      for (const job of await queue.getJobs(['failed'])) failed.push({ jobId: job.id, failedReason: job.failedReason });
      await queue.close();
    }
    expect(failed.sort((a, b) => String(a.jobId).localeCompare(String(b.jobId)))).toEqual(
      invalid.map((job) => ({ jobId: job.jobId, failedReason: reasonOf(job) })).sort((a, b) => a.jobId.localeCompare(b.jobId)),
    );

    // Nothing parked: no orchestrator kept a postponed event.
    const orchestratorKeys = await client.keys(keys.statePattern('Orchestrator'));
    expect(orchestratorKeys.length).toBe(good.length);
    for (const key of orchestratorKeys) {
      const state = JSON.parse((await client.hget(key, 'd'))!) as { postponed: unknown[] };
      expect(state.postponed, key).toEqual([]);
    }

    // Each refusal was logged at warn with its job id and reason by the node that took it.
    const logs = nodes.map((n) => n.stderr()).join('\n');
    for (const job of invalid) {
      const line = logs.split('\n').find((l) => l.includes(JSON.stringify(job.jobId)) && l.includes('dead-lettered'));
      expect(line, `no warning for ${job.jobId}`).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 40, jobId: job.jobId, reason: expect.stringMatching(/^invalid message to Orchestrator\//) });
    }
  }, 120_000);
});
