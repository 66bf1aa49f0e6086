/**
 * The chaos run (issue 8, issue 14 finding 7), shared by `npm run bench -- chaos` and a small
 * version in `npm test`: a private Redis with AOF, marketplace node processes with 1.5 s partition
 * leases, a producer sending a seeded lifecycle workload (`chaos-events.ts`) for many customers,
 * and a controller injecting the faults that matter while the load flows:
 *
 * - **node SIGKILLs at random sub-second offsets** (a gap drawn from `killGapMs`), so they land
 *   inside jobs and commits (a node under load is in one nearly all the time); a kill within the
 *   lease after the previous one hits a survivor while it takes over the dead node's partitions
 *   (`takeover_kills`). A fresh node replaces each dead one;
 * - **Redis SIGKILLs**, spread over the send. With `appendfsync always` nothing Redis acknowledged
 *   may be lost, and the nodes must carry on after it restarts. With `everysec` the loss everysec
 *   allows on a machine crash is made real: a SIGKILL alone loses nothing (Redis writes the AOF
 *   before it answers, and the kernel keeps it), so the AOF is cut back to its length
 *   `lossWindowMs` before the kill, as a crash before the next fsync would leave it. The nodes must
 *   find the dataset went backwards and halt (`rollback_detected`); then, as an operator would
 *   (README, Configuration), the controller clears the halt and starts nodes again;
 * - **Redis frozen**: SIGSTOP for `freezeMs` (longer than a lease), then SIGCONT.
 *
 * Then it waits until every event the producer sent has its outcome record. In an `everysec` run
 * the producer has seen acknowledged only what it has seen decided (an `addBulk` Redis answered may
 * be in the lost second): once the fleet is idle it sends again, under new message ids
 * (`<messageIdOf>.resend<n>`), every event without a record (`resent`). An `always` run sends
 * nothing again: a missing record is `lost`.
 *
 * Judged against the rules model (`chaos-model.ts`, written from the rules, not from the code):
 * each customer's outcome records are folded through it in the order the orchestrator recorded
 * them, and every outcome, the Entitlement, Subscription and Billing states, the balance, the
 * invoices (count, sum of totals) and the receipts must be what the rules give. In an `always`
 * run the recorded order must also be the send order (`order_violations`), so the fold is the
 * model's own prediction; after a rollback, events sent again are decided after later ones, and
 * the rules judge each decision in the order it was taken.
 *
 * What "no double application" means after a rollback: the lost second's decisions are undone in
 * Redis with everything else of that second (a consistent prefix of the AOF), so their events are
 * undecided and decided again, once. What must never happen is a second effect for one event:
 * two outcome records, two receipts, an invoice id twice, a receipt without a completed record,
 * or a payment or invoice counted twice (the model's balance and invoices catch those).
 *
 * - `lost`: events sent (the producer's `addBulk` succeeded) with no outcome record at the end.
 * - `duplicated_effects`: the second effects above.
 * - `state_mismatches`: outcomes and fields that differ from the rules model.
 * - `audit_ok`: every receipt chain verifies and has one receipt per completed event.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { verifyReceipts, type ReceiptsContext } from '../../machines/receipts.ts';
import { readCommittedStates } from '../../src/cli/check/bullmq-target.ts';
import { messageIdOf } from '../../src/cli/enqueue/producer.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { chaosWorkload, seededRandom, type ChaosWorkload } from './chaos-events.ts';
import { RulesModel, viewDifferences } from './chaos-model.ts';
import { invoiceIds, observedOutcomes, observedView, receiptIds } from './chaos-observed.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';

export interface ChaosOptions {
  readonly events: number;
  readonly customers: number;
  /** The AOF fsync policy of the run's Redis (above). */
  readonly appendfsync: 'always' | 'everysec';
  /** Node processes running at once. @default 2 */
  readonly nodes?: number;
  /** @default 8 */
  readonly partitions?: number;
  /** Node SIGKILLs: at least this many, and they go on while the producer sends. */
  readonly minKills: number;
  /** The gap before each node kill is drawn from this range, in ms. @default [200, 2500] */
  readonly killGapMs?: readonly [number, number];
  readonly redisKills: number;
  readonly redisFreezes: number;
  /** How long Redis stays stopped. @default 3000 */
  readonly freezeMs?: number;
  /** `everysec`: how much of the AOF's tail a crash loses. @default 1000 */
  readonly lossWindowMs?: number;
  readonly seed: number;
  /** Events per `addBulk`, and the pause between batches (the producer's pace). */
  readonly batch?: number;
  readonly pauseMs?: number;
  /** How long the fleet may take to finish after the last send. @default 120 s */
  readonly drainTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly appendfsync: 'always' | 'everysec';
  readonly events: number;
  readonly kills: number;
  readonly takeover_kills: number;
  readonly redis_kills: number;
  readonly redis_freezes: number;
  readonly rollback_detected: number;
  /** Nodes that left with exit 7 while the sentinel had no halt: the other nodes were not stopped. */
  readonly halts_unrecorded: number;
  readonly resent: number;
  readonly lost: number;
  readonly duplicated_effects: number;
  readonly state_mismatches: number;
  readonly order_violations: number;
  /** Nodes that ended without being killed, other than by a halt after a rollback. */
  readonly unexpected_exits: number;
  readonly audit_ok: boolean;
  readonly completed: number;
  readonly rejected: number;
  readonly invoices: number;
  /** The first few differences found, to explain a non-zero count. */
  readonly problems: readonly string[];
}

const LEASE_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every customer's committed actors' contexts, read in parallel batches. */
async function readAll(client: Redis, keys: RedisKeys, customers: readonly string[]): Promise<Map<string, Map<string, unknown>>> {
  const states = new Map<string, Map<string, unknown>>();
  for (let i = 0; i < customers.length; i += 100) {
    const slice = customers.slice(i, i + 100);
    const read = await Promise.all(slice.map((c) => readCommittedStates(client, keys, c)));
    // Billing's records (its invoices) are seen with its context, as chaos-observed.ts reads them.
    slice.forEach((c, j) => states.set(c, new Map([...read[j]!].map(([kind, s]) => [kind, s.records ? { ...(s.context as object), records: s.records } : s.context]))));
  }
  return states;
}

function recordedIds(states: Map<string, Map<string, unknown>>): Set<string> {
  const ids = new Set<string>();
  for (const contexts of states.values()) for (const r of observedOutcomes(contexts)) ids.add(r.eventId);
  return ids;
}

/** The node processes: `target` of them, a fresh one started for each that dies. */
class Fleet {
  readonly running: NodeProcess[] = [];
  readonly #killed = new WeakSet<NodeProcess>();
  #started = 0;
  #starting = 0;
  #stopped = false;
  /** While a halt is being cleared, no node is started (it would refuse to start: exit 7). */
  paused = false;
  kills = 0;
  readonly exits: Array<{ name: string; code: number | null; signal: string | null }> = [];

  constructor(
    readonly env: Record<string, string>,
    readonly target: number,
    readonly log: (line: string) => void,
  ) {}

  /** Starts nodes until `target` run or are starting; a failed start is tried again. */
  maintain(): void {
    while (!this.#stopped && !this.paused && this.running.length + this.#starting < this.target) void this.#startOne();
  }

  async #startOne(): Promise<void> {
    this.#starting++;
    const name = `chaos-${++this.#started}`;
    try {
      const node = await startNodeProcess('marketplace-node.ts', name, this.env, 60_000);
      if (this.#stopped) {
        await node.kill('SIGTERM');
        return;
      }
      this.running.push(node);
      node.child.once('exit', (code, signal) => {
        const i = this.running.indexOf(node);
        if (i >= 0) this.running.splice(i, 1);
        if (!this.#killed.has(node)) {
          this.exits.push({ name, code, signal });
          const last = node.log().trim().split('\n').slice(-2).join(' | ').slice(0, 600);
          this.log(`chaos: node ${name} exited (${code ?? signal})${last ? `: ${last}` : ''}`);
        }
        this.maintain();
      });
    } catch (error) {
      this.log(`chaos: node ${name} did not start: ${String(error).split('\n')[0]}`);
      await sleep(500);
    } finally {
      this.#starting--;
      this.maintain();
    }
  }

  /** Waits until `target` nodes run (or the time is up). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.length < this.target && Date.now() < deadline) await sleep(100);
  }

  async kill(node: NodeProcess): Promise<void> {
    this.#killed.add(node);
    await node.kill('SIGKILL');
    this.kills++;
  }

  logs(): string {
    return this.running.map((n) => `[${n.name}]\n${n.log().slice(-2_000)}`).join('\n');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#starting > 0) await sleep(100);
    for (const node of this.running) this.#killed.add(node);
    await Promise.all(this.running.map((n) => n.kill('SIGTERM')));
  }
}

/** The AOF's growing file and its length over the last seconds (Redis 7's multi-part AOF). */
class AofTail {
  readonly #samples: Array<{ at: number; file: string; size: number }> = [];
  readonly #timer: NodeJS.Timeout;

  constructor(readonly dir: string) {
    this.#timer = setInterval(() => {
      const file = this.#file();
      if (file === undefined) return;
      try {
        this.#samples.push({ at: Date.now(), file, size: statSync(file).size });
      } catch {
        return;
      }
      while (this.#samples.length > 100) this.#samples.shift();
    }, 50);
  }

  #file(): string | undefined {
    try {
      const manifest = readFileSync(join(this.dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
      const name = /^file (\S+) seq \d+ type i$/m.exec(manifest)?.[1];
      return name === undefined ? undefined : join(this.dir, 'appendonlydir', name);
    } catch {
      return undefined;
    }
  }

  /** Cuts the file back to its length `windowMs` ago (Redis stopped); returns the bytes cut. */
  cut(windowMs: number): number {
    const file = this.#file();
    const then = this.#samples.filter((s) => s.file === file && s.at <= Date.now() - windowMs).pop();
    if (file === undefined || then === undefined) return 0;
    const size = statSync(file).size;
    truncateSync(file, Math.min(then.size, size));
    return size - Math.min(then.size, size);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

type Message = { to: { entity: string; key: string }; event: { type: 'lifecycle'; event: LifecycleEvent; receivedAt: number }; id: string };
const messageOf = (event: LifecycleEvent, id: string): Message => ({ to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt: Date.now() }, id });

/** Sends until it succeeds (Redis down or frozen: try again), under the same ids. */
async function sendAll(producer: GovernorProducer, messages: Message[]): Promise<void> {
  for (;;) {
    try {
      await producer.sendMany(messages);
      return;
    } catch {
      await sleep(200);
    }
  }
}

/** Sends the sequence in order; a producer's retry of an event is another message id. */
async function produce(producer: GovernorProducer, workload: ChaosWorkload, options: ChaosOptions, accepted: Set<string>, progress: (sent: number) => void): Promise<void> {
  const batch = options.batch ?? 100;
  const retries = new Map<string, number>();
  for (let i = 0; i < workload.sequence.length; i += batch) {
    const messages = workload.sequence.slice(i, i + batch).map((event) => {
      // The transport must not be what catches a retry, the orchestrator must.
      const n = (retries.get(event.eventId) ?? -1) + 1;
      retries.set(event.eventId, n);
      return messageOf(event, n === 0 ? messageIdOf(event) : `${messageIdOf(event)}.retry${n}`);
    });
    await sendAll(producer, messages);
    for (const m of messages) accepted.add(m.event.event.eventId);
    progress(i + messages.length);
    if (options.pauseMs) await sleep(options.pauseMs);
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const everysec = options.appendfsync === 'everysec';
  // No AOF rewrite in an everysec run: the cut needs the file it sampled.
  const redis: RedisHandle = await startRedis({ mode: 'private', appendfsync: options.appendfsync, args: everysec ? ['--auto-aof-rewrite-percentage', '0'] : [] });
  const prefix = `${redis.prefix}-chaos`;
  const partitions = options.partitions ?? 8;
  // The nodes' partition count: an entity's keys carry its partition's hash tag.
  const keys = new RedisKeys(prefix, { partitions });
  const fleet = new Fleet({ REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(partitions), LEASE_MS: String(LEASE_MS) }, options.nodes ?? 2, log);
  const workload = chaosWorkload({ events: options.events, customers: options.customers, seed: options.seed, run: `s${options.seed}${options.appendfsync[0]}` });
  const random = seededRandom(options.seed + 1);
  const tail = everysec ? new AofTail(redis.dir!) : undefined;
  const control = redis.client({ maxRetriesPerRequest: 1 });
  control.on('error', () => undefined);
  let producer: GovernorProducer | undefined;
  const counts = { redisKills: 0, freezes: 0, rollbacks: 0, takeovers: 0, resent: 0, unrecordedHalts: 0 };
  try {
    fleet.maintain();
    await fleet.ready();
    producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions, redis: { maxRetriesPerRequest: 1 } });
    const accepted = new Set<string>();
    let sent = 0;
    let producing = true;
    const producerDone = produce(producer, workload, options, accepted, (n) => (sent = n)).finally(() => (producing = false));

    /** A halt in the sentinel: wait for the nodes to stop, clear it as an operator would, start nodes again. */
    let halts = 0;
    const clearHalt = async (): Promise<void> => {
      const halted = await control.hget(keys.epoch, 'halted').catch(() => undefined);
      const exits7 = fleet.exits.filter((e) => e.code === 7).length;
      if (halted === null && exits7 > halts) {
        // A node found the loss and left, but the sentinel says nothing: the other nodes go on.
        counts.unrecordedHalts++;
        log(`chaos: a node exited 7 and no halt is recorded in the sentinel`);
      }
      halts = exits7;
      if (!halted) return;
      counts.rollbacks++;
      log(`chaos: rollback detected: ${halted}`);
      fleet.paused = true;
      const deadline = Date.now() + 15_000;
      while (fleet.running.length > 0 && Date.now() < deadline) await sleep(100);
      for (const node of [...fleet.running]) {
        log(`chaos: node ${node.name} still runs on a halted dataset`);
        fleet.exits.push({ name: node.name, code: null, signal: 'still running after a halt' });
        await fleet.kill(node);
      }
      await control.hdel(keys.epoch, 'halted');
      halts = fleet.exits.filter((e) => e.code === 7).length;
      fleet.paused = false;
      fleet.maintain();
    };

    // Redis faults spread over the send, kills and freezes alternating.
    const faults: Array<'kill' | 'freeze'> = [];
    for (let k = 0, f = 0; k < options.redisKills || f < options.redisFreezes; ) {
      if (k++ < options.redisKills) faults.push('kill');
      if (f++ < options.redisFreezes) faults.push('freeze');
    }
    const faultAt = faults.map((_, i) => ((i + 1) / (faults.length + 1)) * workload.sequence.length);
    const [gapMin, gapMax] = options.killGapMs ?? [200, 2_500];
    let lastKillAt = 0;
    let fault = 0;
    while (producing || fleet.kills < options.minKills || fault < faults.length) {
      await sleep(gapMin + random() * (gapMax - gapMin));
      if (fault < faults.length && sent >= faultAt[fault]!) {
        const kind = faults[fault++]!;
        if (kind === 'freeze') {
          const pid = redis.pid!;
          log(`chaos: Redis frozen at ${sent} sent`);
          process.kill(pid, 'SIGSTOP');
          await sleep(options.freezeMs ?? 3_000);
          process.kill(pid, 'SIGCONT');
          counts.freezes++;
        } else {
          await redis.kill('SIGKILL');
          counts.redisKills++;
          const cut = tail?.cut(options.lossWindowMs ?? 1_000) ?? 0;
          log(`chaos: Redis SIGKILLed at ${sent} sent${everysec ? `, the AOF's last ${cut} bytes lost` : ''}`);
          await sleep(300);
          await redis.restart();
          if (everysec) {
            // The nodes find the loss at their next commit or heartbeat.
            for (let i = 0; i < 30 && !(await control.hget(keys.epoch, 'halted').catch(() => null)); i++) await sleep(100);
          }
        }
      } else if (fleet.running.length > 0 && !fleet.paused) {
        const victim = fleet.running[Math.floor(random() * fleet.running.length)]!;
        // Within a lease and a heartbeat of the last kill, the survivor is taking its partitions over.
        if (Date.now() - lastKillAt < LEASE_MS + 1_000) counts.takeovers++;
        lastKillAt = Date.now();
        await fleet.kill(victim);
        log(`chaos: kill ${fleet.kills} (${victim.name}) at ${sent} of ${workload.sequence.length} sent`);
      }
      await clearHalt();
      fleet.maintain();
    }
    await producerDone;

    // The fleet finishes what was sent; in an everysec run, what has no record once it is idle is sent again.
    const client = redis.client();
    const deadline = Date.now() + (options.drainTimeoutMs ?? 120_000);
    let states = await readAll(client, keys, workload.customers);
    let recorded = recordedIds(states);
    let idleSince = Date.now();
    let round = 0;
    while ([...accepted].some((id) => !recorded.has(id)) && Date.now() < deadline) {
      await sleep(1_000);
      await clearHalt();
      states = await readAll(client, keys, workload.customers);
      const now = recordedIds(states);
      if (now.size !== recorded.size) idleSince = Date.now();
      recorded = now;
      if (everysec && Date.now() - idleSince > 5_000) {
        const missing = [...workload.byId.values()].filter((e) => !recorded.has(e.eventId));
        round++;
        log(`chaos: sending ${missing.length} events again (round ${round})`);
        await sendAll(producer, missing.map((e) => messageOf(e, `${messageIdOf(e)}.resend${round}`)));
        counts.resent += missing.length;
        idleSince = Date.now();
      }
    }
    // Settled: a node may still commit a receipt after the outcome record.
    await sleep(1_000);
    states = await readAll(client, keys, workload.customers);
    return judge(workload, options, accepted, states, fleet, counts);
  } finally {
    tail?.stop();
    await fleet.stop();
    await producer?.close().catch(() => undefined);
    await redis.stop();
  }
}

function judge(
  workload: ChaosWorkload,
  options: ChaosOptions,
  accepted: Set<string>,
  states: Map<string, Map<string, unknown>>,
  fleet: Fleet,
  counts: { redisKills: number; freezes: number; rollbacks: number; takeovers: number; resent: number; unrecordedHalts: number },
): ChaosResult {
  const problems: string[] = [];
  const note = (problem: string) => problems.length < 12 && problems.push(problem);
  const recorded = recordedIds(states);
  const lostIds = [...accepted].filter((id) => !recorded.has(id));
  for (const id of lostIds.slice(0, 3)) note(`lost: ${id} (${workload.byId.get(id)?.type})`);
  if (lostIds.length > 0) note(`node logs:\n${fleet.logs()}`);

  let duplicated = 0;
  let mismatches = 0;
  let orderViolations = 0;
  let auditOk = accepted.size === workload.eventIds.size;
  let completed = 0;
  let rejected = 0;
  let invoices = 0;
  for (const customerId of workload.customers) {
    const contexts = states.get(customerId) ?? new Map<string, unknown>();
    const outcomes = observedOutcomes(contexts);
    // A second effect of one event: a second record, receipt or invoice id, or a receipt without a completed record.
    const repeats = (ids: readonly string[], what: string) => {
      const n = ids.length - new Set(ids).size;
      if (n > 0) note(`${customerId}: ${n} repeated ${what}`);
      duplicated += n;
    };
    repeats(outcomes.map((o) => o.eventId), 'outcome records');
    const receipts = receiptIds(contexts);
    repeats(receipts, 'receipts');
    repeats(invoiceIds(contexts), 'invoice ids');
    const completedIds = new Set(outcomes.filter((o) => o.outcome === 'completed').map((o) => o.eventId));
    for (const id of receipts.filter((r) => !completedIds.has(r))) {
      duplicated++;
      note(`${customerId}: a receipt for ${id}, which has no completed record`);
    }

    // The rules, folded in the order the orchestrator decided.
    const model = new RulesModel();
    for (const { eventId, outcome } of outcomes) {
      const event = workload.byId.get(eventId);
      const expected = event ? model.submit(event) : 'unknown';
      if (expected !== outcome) {
        mismatches++;
        note(`${customerId} ${eventId} (${event?.type}): ${outcome}, the rules say ${expected}`);
      }
    }
    const view = observedView(contexts);
    for (const difference of viewDifferences(model.view(customerId), view)) {
      mismatches++;
      note(`${customerId} ${difference}`);
    }
    completed += view.receipts;
    rejected += outcomes.length - completedIds.size;
    invoices += view.invoices;

    // Without a loss, one customer's events are decided in the order they were sent.
    const sendOrder = workload.model.outcomes(customerId).map((o) => o.eventId).filter((id) => recorded.has(id));
    if (sendOrder.join() !== outcomes.map((o) => o.eventId).join()) {
      orderViolations++;
      if (options.appendfsync === 'always') note(`${customerId}: decided out of send order`);
    }

    const chain = contexts.get('Receipts') as (ReceiptsContext & { receipts?: unknown[] }) | undefined;
    const verified = chain ? verifyReceipts(chain, chain.receipts) : { ok: true as const };
    if (!verified.ok || receipts.length !== completedIds.size) {
      auditOk = false;
      note(`Receipts/${customerId}: ${verified.ok ? `${receipts.length} receipts for ${completedIds.size} completed events` : JSON.stringify(verified)}`);
    }
  }
  const halts = options.appendfsync === 'everysec' ? (e: { code: number | null }) => e.code === 7 : () => false;
  const unexpected = fleet.exits.filter((e) => !halts(e));
  for (const e of unexpected.slice(0, 3)) note(`node ${e.name} exited (${e.code ?? e.signal})`);
  return {
    appendfsync: options.appendfsync,
    events: workload.sequence.length,
    kills: fleet.kills,
    takeover_kills: counts.takeovers,
    redis_kills: counts.redisKills,
    redis_freezes: counts.freezes,
    rollback_detected: counts.rollbacks,
    halts_unrecorded: counts.unrecordedHalts,
    resent: counts.resent,
    lost: lostIds.length,
    duplicated_effects: duplicated,
    state_mismatches: mismatches,
    order_violations: orderViolations,
    unexpected_exits: unexpected.length,
    audit_ok: auditOk,
    completed,
    rejected,
    invoices,
    problems,
  };
}
