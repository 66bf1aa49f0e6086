import type { KeepJobs, Telemetry } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisOptions } from 'ioredis';
import { ALLOW_DATA_LOSS_ENV, type Durability } from './redis-persistence.ts';
import { resolveHeapBudget } from '../../runtime/heap-budget.ts';

import type { Placement } from '../../store/key-partitions.ts';
import type { TracingOptions } from './job-tracing.ts';

export type { Placement } from '../../store/key-partitions.ts';

/** Configuration of a {@link BullmqTransport}; everything but the Redis location has a default. */
export interface BullmqTransportOptions {
  /**
   * Redis URL, e.g. `redis://localhost:6379`, or a Redis Cluster's seed nodes:
   * `redis+cluster://h1:7000,h2:7001` (`rediss+cluster://` for TLS).
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  url?: string;
  /** Extra ioredis options for every connection (TLS, password…). Never `keyPrefix`: use `prefix`. */
  redis?: RedisOptions;
  /**
   * What the node asks of Redis' persistence at start: `require` refuses a Redis without AOF (or
   * whose persistence it cannot read) with `RedisNotDurableError`; `allow-data-loss` starts anyway
   * and warns at every start. Either way the node stops if the dataset goes backwards.
   * @default 'allow-data-loss' when GOVERNOR_ALLOW_DATA_LOSS=1, else 'require'
   */
  durability?: Durability;
  /**
   * The prefix of every key, BullMQ's and Governor's. Without a hash tag (`{…}`) of its own: the
   * keys carry one per partition, so partitions spread over a Redis Cluster's shards (a tag in the
   * prefix would put every key in one slot again). See `RedisKeys`. @default 'governor'
   */
  prefix?: string;
  /** Partitions of the key space; the same on every node and producer, for good. @default 16 */
  partitions?: number;
  /** @default 'sharded' */
  placement?: Placement;
  /**
   * How long a partition stays with a node that stopped renewing it (a dead or frozen node): the
   * main term of the takeover time, which is about `leaseMs + heartbeatMs + 2 × stalledIntervalMs`.
   * @default 10_000
   */
  leaseMs?: number;
  /** How often a node renews its leases, claims its share of partitions and checks the others. @default leaseMs / 5 */
  heartbeatMs?: number;
  /**
   * BullMQ's job lock; a job whose lock is not renewed for this long returns to its queue. Must be
   * above the longest event-loop block of a node. @default leaseMs
   */
  lockDurationMs?: number;
  /** How often BullMQ looks for stalled jobs. @default max(500, leaseMs / 4) */
  stalledIntervalMs?: number;
  /**
   * How long `start()` waits for Redis to answer at all before it fails (`RedisUnreachableError`),
   * rather than waiting for ever on a wrong URL. A running node reconnects without limit. @default 10_000
   */
  connectTimeoutMs?: number;
  /** A job whose worker died this many times is dead-lettered (it probably kills its worker). @default 5 */
  maxStalledCount?: number;
  /** Times a message whose handling crashes its entity is retried, inline and in order, before it is dead-lettered. @default 3 */
  retryBudget?: number;
  /**
   * Completed jobs kept per queue. By default none (`{ count: 0 }`: removed as they complete): a message
   * handled again is recognised by its target's handled set (the most recent `handledLimit` ids per
   * entity), which is what makes effects exactly once, and an orchestrator recognises a lifecycle
   * event by its keyed record. Keeping jobs (a `KeepJobs`) makes BullMQ ignore a re-add of a kept
   * job id before it runs, and lets a producer compare a reused id's content with the kept job's,
   * at about 4 more Redis commands per message (the completed set, its trimming, the old job's
   * removal: some 10% of Redis' CPU per lifecycle event) and 2 KB of Redis memory per kept job.
   * @default { count: 0 }
   */
  removeOnComplete?: KeepJobs;
  /** @default { count: 10_000 } (failed jobs are rare: every failure is dead-lettered too) */
  removeOnFail?: KeepJobs;
  /** Approximate length of each queue's event stream. @default 1_000 */
  eventsMaxLen?: number;
  /** Message ids remembered per entity to recognise a redelivery. @default 10_000 */
  handledLimit?: number;
  /** An entity not handling a message for this long leaves memory (its state is already in Redis). @default 300_000 */
  passivateAfterMs?: number;
  /**
   * Heap (MiB) above which the node passivates its least recently used idle entities, checked
   * every second (see `memory-pressure.ts`). @default `GOVERNOR_HEAP_BUDGET_MB`, else 60 % of
   * V8's heap limit
   */
  heapBudgetMb?: number;
  /** `distributed` placement: the kinds whose partitions this node works on. @default every kind its EntityHost hosts */
  nodeKinds?: readonly string[];
  /** @default the node's logger */
  logger?: Logger;
  /**
   * BullMQ's telemetry (e.g. `new BullMQOtel()` from `bullmq-otel`), given to every queue and
   * worker: a span per job added and per job processed, the context carried in the job. @default none
   */
  telemetry?: Telemetry;
  /**
   * OpenTelemetry traces of the node's work, through `@opentelemetry/api` (register an SDK in the
   * process to export them): a `governor.process` span per job under the context the job's `trace`
   * field carries, a `governor.step` per message an entity handles, a `governor.commit` per commit,
   * and the sending step's context in the `trace` field of every message the node adds, so one
   * lifecycle event is one trace across every queue hop (see `job-tracing.ts`). `true`, or options
   * saying how entity keys show on spans. @default off: no span, no `trace` field, nothing per job
   */
  tracing?: boolean | TracingOptions;
}

/** The options with their defaults applied. */
export interface TransportSettings {
  readonly url: string;
  readonly redis: RedisOptions;
  readonly durability: Durability;
  readonly prefix: string;
  readonly partitions: number;
  readonly placement: Placement;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly connectTimeoutMs: number;
  readonly maxStalledCount: number;
  readonly retryBudget: number;
  readonly removeOnComplete: KeepJobs;
  readonly removeOnFail: KeepJobs;
  readonly eventsMaxLen: number;
  readonly handledLimit: number;
  readonly passivateAfterMs: number;
  /** In bytes. */
  readonly heapBudget: number;
  readonly telemetry: Telemetry | undefined;
  /** `undefined`: off. */
  readonly tracing: TracingOptions | undefined;
  readonly nodeKinds: readonly string[] | undefined;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`BullMQ transport option ${name} must be a positive number, got ${String(value)}`);
  return value;
}

/** Applies the defaults and checks the numbers, naming the option at fault. */
export function resolveSettings(options: BullmqTransportOptions): TransportSettings {
  if (options.redis?.keyPrefix) {
    throw new TypeError('ioredis keyPrefix is not supported by BullMQ: use the transport option prefix instead');
  }
  const leaseMs = positive('leaseMs', options.leaseMs ?? 10_000);
  const partitions = positive('partitions', options.partitions ?? 16);
  if (!Number.isInteger(partitions)) throw new TypeError(`BullMQ transport option partitions must be an integer, got ${partitions}`);
  if (options.durability !== undefined && options.durability !== 'require' && options.durability !== 'allow-data-loss') {
    throw new TypeError(`BullMQ transport option durability must be 'require' or 'allow-data-loss', got ${String(options.durability)}`);
  }
  const placement = options.placement ?? 'sharded';
  if (placement !== 'sharded' && placement !== 'distributed') {
    throw new TypeError(`BullMQ transport option placement must be 'sharded' or 'distributed', got ${String(placement)}`);
  }
  return {
    url: options.url ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    redis: options.redis ?? {},
    durability: options.durability ?? (process.env[ALLOW_DATA_LOSS_ENV] === '1' ? 'allow-data-loss' : 'require'),
    prefix: options.prefix ?? 'governor',
    partitions,
    placement,
    leaseMs,
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs ?? Math.max(100, Math.round(leaseMs / 5))),
    lockDurationMs: positive('lockDurationMs', options.lockDurationMs ?? leaseMs),
    stalledIntervalMs: positive('stalledIntervalMs', options.stalledIntervalMs ?? Math.max(500, Math.round(leaseMs / 4))),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 10_000),
    maxStalledCount: positive('maxStalledCount', options.maxStalledCount ?? 5),
    retryBudget: options.retryBudget ?? 3,
    removeOnComplete: options.removeOnComplete ?? { count: 0 },
    removeOnFail: options.removeOnFail ?? { count: 10_000 },
    eventsMaxLen: positive('eventsMaxLen', options.eventsMaxLen ?? 1_000),
    handledLimit: positive('handledLimit', options.handledLimit ?? 10_000),
    passivateAfterMs: positive('passivateAfterMs', options.passivateAfterMs ?? 300_000),
    heapBudget: resolveHeapBudget(options.heapBudgetMb, process.env, 'BullMQ transport option heapBudgetMb'),
    nodeKinds: options.nodeKinds,
    telemetry: options.telemetry,
    tracing: options.tracing === true ? {} : options.tracing || undefined,
  };
}
