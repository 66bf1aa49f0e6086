/**
 * The chaos run (issue 8, SPEC §6), shared by `npm run bench -- chaos` (20,000 events) and a small
 * version in `npm test`: a private Redis with AOF, several marketplace node processes, a producer
 * sending a seeded lifecycle workload for many customers, and a controller that SIGKILLs a random
 * node every `killEveryMs` (starting a fresh one in its place) and stops and restarts Redis.
 * Then it waits for the fleet to finish every event it accepted and compares every customer's
 * committed states with the pure reference fold of the same sequence.
 *
 * - `lost`: events the producer had accepted (its `addBulk` succeeded) with no outcome record in
 *   their orchestrator's committed state once the fleet is idle.
 * - `duplicated_effects`: receipts for an event that already had one, and invoices whose id
 *   repeats (a payment applied twice shows as a state mismatch).
 * - `state_mismatches`: governors (and orchestrators' outcome records) that differ from the model.
 * - `audit_ok`: every customer's receipt chain verifies and has one receipt per completed event.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import type { BillingData } from '../../machines/governors/billing.ts';
import type { OrchestratorContext } from '../../machines/orchestrator.ts';
import { verifyReceipts, type ReceiptsContext } from '../../machines/receipts.ts';
import { readCommittedStates } from '../../src/cli/check/bullmq-target.ts';
import { governorDifferences } from '../../src/cli/check/marketplace.ts';
import type { ActorState } from '../../src/cli/check/target.ts';
import { messageIdOf } from '../../src/cli/enqueue/producer.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { chaosWorkload, seededRandom, type ChaosWorkload } from './chaos-events.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

export interface ChaosOptions {
  readonly events: number;
  readonly customers: number;
  /** Node processes running at once. @default 2 */
  readonly nodes?: number;
  readonly partitions?: number;
  /** At least this many SIGKILLs happen, one every `killEveryMs`, until the producer is done too. */
  readonly minKills: number;
  readonly killEveryMs: number;
  /** How many times Redis is stopped (SIGTERM: it fsyncs its AOF) and started again, spread over the send. */
  readonly redisRestarts: number;
  readonly seed: number;
  /** Events per `addBulk`, and the pause between batches (the producer's pace). */
  readonly batch?: number;
  readonly pauseMs?: number;
  /** How long the fleet may take to finish after the last send. @default 120 s */
  readonly drainTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly events: number;
  readonly kills: number;
  readonly redis_restarts: number;
  readonly lost: number;
  readonly duplicated_effects: number;
  readonly state_mismatches: number;
  readonly audit_ok: boolean;
  /** The first few differences found, to explain a non-zero count. */
  readonly problems: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One customer's committed actors, for every customer, read in parallel batches. */
async function readAll(client: Redis, keys: RedisKeys, customers: readonly string[]): Promise<Map<string, Map<string, ActorState>>> {
  const states = new Map<string, Map<string, ActorState>>();
  for (let i = 0; i < customers.length; i += 100) {
    const slice = customers.slice(i, i + 100);
    const read = await Promise.all(slice.map((c) => readCommittedStates(client, keys, c)));
    slice.forEach((c, j) => states.set(c, read[j]!));
  }
  return states;
}

/** Event ids with an outcome record committed by their orchestrator. */
function finishedIds(states: Map<string, Map<string, ActorState>>): Set<string> {
  const ids = new Set<string>();
  for (const actors of states.values()) {
    const orchestrator = actors.get('Orchestrator')?.context as OrchestratorContext | undefined;
    for (const record of orchestrator?.handled ?? []) ids.add(record.eventId);
  }
  return ids;
}

class Fleet {
  readonly running: NodeProcess[] = [];
  #started = 0;
  kills = 0;

  constructor(readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    this.running.push(await startNodeProcess('marketplace-node.ts', `chaos-${++this.#started}`, this.env, 60_000));
  }

  #starting: Promise<void>[] = [];

  /**
   * SIGKILLs a random node and starts a fresh one in its place, without waiting for it: a node
   * takes seconds to start, and the next kill may come first.
   */
  async killOne(pick: number): Promise<void> {
    if (this.running.length === 0) return;
    const [victim] = this.running.splice(Math.floor(pick * this.running.length), 1);
    await victim!.kill('SIGKILL');
    this.kills++;
    this.#starting.push(this.start());
  }

  /** Waits for the nodes being started (a Redis restart while one connects would fail its start). */
  async started(): Promise<void> {
    const starting = this.#starting;
    this.#starting = [];
    await Promise.all(starting);
  }

  logs(): string {
    return this.running.map((n) => `[${n.name}]\n${n.log().slice(-2_000)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#starting);
    await Promise.all(this.running.map((n) => n.kill('SIGTERM')));
  }
}

/** Sends the sequence in order; a batch that fails (Redis is down) is sent again, under the same ids. */
async function produce(producer: GovernorProducer, workload: ChaosWorkload, options: ChaosOptions, accepted: Set<string>, progress: (sent: number) => void): Promise<void> {
  const batch = options.batch ?? 100;
  const retries = new Map<string, number>();
  for (let i = 0; i < workload.sequence.length; i += batch) {
    const messages = workload.sequence.slice(i, i + batch).map((event) => {
      // A retry of an event is another message (as a producer's retry would be); the transport
      // must not be what catches it, the orchestrator must.
      const n = (retries.get(event.eventId) ?? -1) + 1;
      retries.set(event.eventId, n);
      const id = n === 0 ? messageIdOf(event) : `${messageIdOf(event)}.retry${n}`;
      return { to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt: Date.now() }, id };
    });
    for (;;) {
      try {
        await producer.sendMany(messages);
        break;
      } catch {
        await sleep(200);
      }
    }
    for (const m of messages) accepted.add(m.event.event.eventId);
    progress(i + messages.length);
    if (options.pauseMs) await sleep(options.pauseMs);
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const redis: RedisHandle = await startRedis({ mode: 'private' });
  const prefix = `${redis.prefix}:{chaos}`;
  const partitions = options.partitions ?? 8;
  const fleet = new Fleet({ REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(partitions), LEASE_MS: '1500' });
  const workload = chaosWorkload({ events: options.events, customers: options.customers, seed: options.seed, run: `s${options.seed}` });
  const random = seededRandom(options.seed + 1);
  let producer: GovernorProducer | undefined;
  let redisRestarts = 0;
  try {
    for (let i = 0; i < (options.nodes ?? 2); i++) await fleet.start();
    producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions, redis: { maxRetriesPerRequest: 1 } });
    const accepted = new Set<string>();
    let sent = 0;
    let producing = true;
    const producerDone = produce(producer, workload, options, accepted, (n) => (sent = n)).finally(() => (producing = false));

    // The controller: kills on a beat; Redis restarts spread over the send.
    const restartAt = Array.from({ length: options.redisRestarts }, (_, i) => ((i + 1) / (options.redisRestarts + 1)) * workload.sequence.length);
    while (producing || fleet.kills < options.minKills) {
      await sleep(options.killEveryMs);
      if (redisRestarts < restartAt.length && sent >= restartAt[redisRestarts]!) {
        // SIGTERM: Redis fsyncs its AOF and exits; whatever it acknowledged survives.
        await fleet.started();
        log(`chaos: restarting Redis at ${sent} sent`);
        await redis.kill('SIGTERM');
        await sleep(500);
        await redis.restart();
        redisRestarts++;
      } else {
        await fleet.killOne(random());
        log(`chaos: kill ${fleet.kills} at ${sent} of ${workload.sequence.length} sent`);
      }
    }
    await producerDone;
    await fleet.started();

    // The fleet finishes what it accepted: wait until every accepted event has its record.
    const client = redis.client();
    const keys = new RedisKeys(prefix);
    const deadline = Date.now() + (options.drainTimeoutMs ?? 120_000);
    let states = await readAll(client, keys, workload.customers);
    while ([...accepted].some((id) => !finishedIds(states).has(id)) && Date.now() < deadline) {
      await sleep(1_000);
      states = await readAll(client, keys, workload.customers);
    }
    // Settled: a node may still commit a receipt after the outcome record, in the same job.
    await sleep(1_000);
    states = await readAll(client, keys, workload.customers);
    return judge(workload, accepted, states, fleet.kills, redisRestarts, () => fleet.logs());
  } finally {
    await fleet.stop();
    await producer?.close().catch(() => undefined);
    await redis.stop();
  }
}

function judge(workload: ChaosWorkload, accepted: Set<string>, states: Map<string, Map<string, ActorState>>, kills: number, redisRestarts: number, logs: () => string): ChaosResult {
  const problems: string[] = [];
  const note = (problem: string) => problems.length < 10 && problems.push(problem);
  const finished = finishedIds(states);
  const lostIds = [...accepted].filter((id) => !finished.has(id));
  for (const id of lostIds.slice(0, 3)) note(`lost: ${id}`);
  if (lostIds.length > 0) note(`node logs:\n${logs()}`);

  let duplicatedEffects = 0;
  let stateMismatches = 0;
  let auditOk = accepted.size === workload.eventIds.size;
  for (const customerId of workload.customers) {
    const actors = states.get(customerId);
    for (const difference of governorDifferences(workload.model, actors, customerId)) {
      stateMismatches++;
      note(difference);
    }
    // The outcome records say what the model decided, event for event.
    const orchestrator = actors?.get('Orchestrator')?.context as OrchestratorContext | undefined;
    // The content digest is the door's business (a reused key), not a decision the model makes.
    const recorded = (orchestrator?.handled ?? []).map(({ at: _at, digest: _digest, ...r }) => r);
    const expected = workload.model.customer(customerId).handled.map(({ at: _at, ...r }) => r);
    if (!isDeepStrictEqual(recorded, expected)) {
      stateMismatches++;
      note(`Orchestrator/${customerId} outcome records differ from the model`);
    }
    const receipts = actors?.get('Receipts')?.context as ReceiptsContext | undefined;
    const ids = receipts?.receipts.map((r) => r.entry.eventId) ?? [];
    duplicatedEffects += ids.length - new Set(ids).size;
    const invoices = (actors?.get('Billing')?.context as { data?: BillingData } | undefined)?.data?.invoices ?? [];
    duplicatedEffects += invoices.length - new Set(invoices.map((i) => i.invoiceId)).size;
    const verified = receipts ? verifyReceipts(receipts) : { ok: true, length: 0 };
    const receiptsExpected = workload.model.customer(customerId).receipts.length;
    if (!verified.ok || ids.length !== receiptsExpected) {
      auditOk = false;
      note(`Receipts/${customerId}: ${verified.ok ? `${ids.length} receipts, the model has ${receiptsExpected}` : JSON.stringify(verified)}`);
    }
  }
  return {
    events: workload.sequence.length,
    kills,
    redis_restarts: redisRestarts,
    lost: lostIds.length,
    duplicated_effects: duplicatedEffects,
    state_mismatches: stateMismatches,
    audit_ok: auditOk,
    problems,
  };
}
