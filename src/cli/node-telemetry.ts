import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../transport/bullmq/connections.ts';
import type { Logger } from 'pino';
import { systemClock } from '../runtime/clock.ts';
import type { Node } from '../runtime/node.ts';
import { RedisKeys } from '../store/redis-keys.ts';
import { QueueCache } from '../transport/bullmq/queue-cache.ts';
import { entityOfProcessName } from '../runtime/entity.ts';
import { TelemetryCollector } from '../observability/collector.ts';
import { observeLifecycle, type LifecycleObserver } from '../observability/lifecycle-observer.ts';
import { createMetrics, type DoorRefusal, type GovernorMetrics, type MetricsSample } from '../observability/metrics.ts';
import { serveMetrics, type MetricsServer } from '../observability/metrics-server.ts';
import { trackNode, type QueueSampler } from '../observability/node-metrics.ts';
import { fleetReporter, type FleetMember } from '../observability/fleet-reporter.ts';
import { startPeriodicFlush } from '../observability/periodic-flush.ts';
import { RedisStreamSink } from '../observability/redis-stream-sink.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { nodeVariable } from './node-environment.ts';
import { flushSpans } from './flush-spans.ts';
import { pseudonymiseCustomer } from '../marketplace/receipts.ts';
import type { TracingOptions } from '../transport/bullmq/job-tracing.ts';

/** How often a node flushes telemetry, samples Redis' health and refreshes its summary in Redis. */
const FLUSH_EVERY_MS = 5_000;
/** A node's summary outlives it by this much, so `governor stats` shows recently stopped nodes too. */
const SUMMARY_TTL_S = 3_600;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/** Where the metrics endpoint listens: `--metrics-port` / `GOVERNOR_METRICS_PORT`, `GOVERNOR_METRICS_HOST`. */
export interface MetricsEndpoint {
  readonly port: number;
  readonly host: string;
}

/**
 * Reads the metrics endpoint from a flag and the environment. No port, no endpoint: a node serves
 * metrics only when asked to. `0` picks a free port (the bound URL is printed).
 * @throws CliError (usage) when the port is not an integer from 0 to 65535.
 */
export function metricsEndpoint(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): MetricsEndpoint | undefined {
  const raw = flag ?? nodeVariable('GOVERNOR_METRICS_PORT', env);
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) {
    throw new CliError(`the metrics port must be an integer from 0 to 65535 (0 picks a free one), got "${raw}"`, EXIT.usage);
  }
  return { port, host: nodeVariable('GOVERNOR_METRICS_HOST', env) ?? '127.0.0.1' };
}

/**
 * A node's observability, wired from outside the machines: the lifecycle observer (give it to the
 * entity host before the node starts), then {@link NodeTelemetry.attach} once the node runs.
 */
export interface NodeTelemetry {
  readonly metrics: GovernorMetrics | undefined;
  readonly collector: TelemetryCollector | undefined;
  readonly observer: LifecycleObserver;
  /** Starts following the node; serves metrics when an endpoint was given. */
  attach(node: Node, transport?: TelemetryTransport): Promise<MetricsServer | undefined>;
  /** Flushes what is buffered and stops everything attach started. */
  stop(): Promise<void>;
}

/** What the metrics read of a node's BullMQ transport (the `BullmqTransport` has it all). */
export interface TelemetryTransport {
  readonly keys: RedisKeys;
  ownedPartitions(): string[];
  /** The fleet's members as of the last heartbeat: one of them reports the fleet's shared series. */
  nodes?(): Promise<readonly FleetMember[]>;
  deadLetteredJobs?(): Record<string, number>;
  duplicateMessages?(): Record<string, number>;
  refusedMessages?(): Record<string, number>;
  commitConflicts?(): Record<string, number>;
}

export interface NodeTelemetryOptions {
  readonly endpoint: MetricsEndpoint | undefined;
  readonly logger: Logger;
  /**
   * The node's Redis and key prefix: product telemetry goes to a stream there, the node's summary
   * next to it, queue depths are read from it. Without it, no product telemetry is collected.
   */
  readonly redis?: { readonly url: string; readonly prefix: string };
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Builds a node's metrics and product telemetry. Product telemetry is on when the node runs on
 * Redis, unless `GOVERNOR_TELEMETRY=0`; error reports only with `GOVERNOR_TELEMETRY_ERRORS=1`.
 * Organisations are keyed by `GOVERNOR_TELEMETRY_SECRET` (random per process without it, so
 * tokens would differ between nodes and restarts: a warning says so).
 *
 * @example
 * const telemetry = createNodeTelemetry({ endpoint: metricsEndpoint('9464'), logger, redis });
 * const started = await startBullmqNode({ …, entityHost: { observe: telemetry.observer } });
 * await telemetry.attach(started.node, started.transport);
 */
export function createNodeTelemetry(options: NodeTelemetryOptions): NodeTelemetry {
  const stops: (() => void | Promise<void>)[] = [];
  const stopsLast: (() => void)[] = [];
  const env = options.env ?? process.env;
  const { logger, endpoint } = options;
  // Its own connection, failing fast (one retry per command): a Redis away makes flushes fail, so
  // the collector holds and drops by its policy instead of commands piling up behind it.
  const redis = options.redis && {
    client: createRedis(options.redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1, connectionName: 'governor:telemetry' }),
    keys: new RedisKeys(options.redis.prefix),
    prefix: options.redis.prefix,
  };
  redis?.client.on('error', (error) => logger.debug({ err: error }, 'telemetry connection error'));
  if (redis) stopsLast.push(() => void redis.client.disconnect());
  let tracker: ReturnType<typeof trackNode> | undefined;
  const metrics = endpoint ? createMetrics({ sample: () => tracker?.sample() ?? {} }) : undefined;
  let collector: TelemetryCollector | undefined;
  if (redis && nodeVariable('GOVERNOR_TELEMETRY', env) !== '0') {
    const secret = nodeVariable('GOVERNOR_TELEMETRY_SECRET', env) ?? randomBytes(32).toString('base64url');
    if (nodeVariable('GOVERNOR_TELEMETRY_SECRET', env) === undefined) {
      logger.warn('GOVERNOR_TELEMETRY_SECRET is not set: telemetry organisation tokens will differ between nodes and restarts');
    }
    collector = new TelemetryCollector({
      secret,
      sink: new RedisStreamSink({ redis: redis.client, stream: redis.keys.telemetryStream }),
      errorReporting: nodeVariable('GOVERNOR_TELEMETRY_ERRORS', env) === '1',
    });
  }
  const observer = observeLifecycle({ metrics, collector, now: () => systemClock.now() });

  return {
    metrics,
    collector,
    observer,
    async attach(node, transport) {
      stops.push(
        node.onExit((_pid, _reason, process) => {
          const address = process.name === undefined ? undefined : entityOfProcessName(process.name);
          if (address) observer.stopped(address);
        }),
      );
      if (collector && redis) {
        const summaryKey = redis.keys.telemetrySummary(node.name);
        const report = async (): Promise<void> => {
          const started = systemClock.now();
          const available = await redis.client.ping().then(() => true, () => false);
          collector!.recordHealth({ target: 'redis', available, responseTimeMs: systemClock.now() - started });
          if (available) await redis.client.set(summaryKey, JSON.stringify(collector!.summary()), 'EX', SUMMARY_TTL_S).catch(() => undefined);
        };
        const stopFlush = startPeriodicFlush(
          { flush: () => report().then(() => collector!.flush()) },
          // The system clock, not the node's: on BullMQ the node's timers run inside a commit scope,
          // which telemetry has no business in.
          { clock: systemClock, everyMs: FLUSH_EVERY_MS },
        );
        stops.push(async () => {
          stopFlush();
          await collector!.flush();
          await report();
        });
      }
      if (!metrics || !endpoint) return undefined;
      const queues = transport && redis ? queueSampler(redis, transport, node.name) : undefined;
      tracker = trackNode(node, { queues: queues?.sample });
      stops.push(tracker.stop);
      if (queues) stops.push(queues.close);
      const server = await serveMetrics(metrics.registry, endpoint);
      stops.push(() => server.close());
      logger.info({ url: server.url }, 'serving metrics');
      return server;
    },
    async stop() {
      for (const stop of stops.splice(0).reverse()) {
        try {
          await stop();
        } catch (error) {
          logger.warn({ err: error }, 'telemetry did not stop cleanly');
        }
      }
      for (const stop of stopsLast.splice(0)) stop();
      // Last: the spans of the node's final steps and commits, before the process exits.
      await flushSpans((message) => logger.warn(message));
    },
  };
}

/**
 * OpenTelemetry tracing of the node with `GOVERNOR_OTEL=1` (the transport option `tracing`, see
 * `job-tracing.ts`): a `governor.process` span per job under the trace its `trace` field carries,
 * a `governor.step` per message an entity handles, a `governor.commit` per commit, tracer
 * `governor`; each message the node adds carries the sending step's context, so one lifecycle
 * event is one trace from `governor enqueue` to the commits. Customers show as their receipt
 * pseudonym under `pseudonymKey`, as in the node's logs. Spans reach an exporter only when an
 * OpenTelemetry SDK is registered in the process (`node --import ./otel-setup.mjs`); without
 * one they are the API's no-op spans.
 *
 * BullMQ's own telemetry (`bullmq-otel`) is not used: it spans a whole `addBulk` and carries that
 * span's context in every job of the batch, while a node's batch holds messages of many traces.
 */
export function nodeTracing(pseudonymKey: string, env: NodeJS.ProcessEnv = process.env): TracingOptions | undefined {
  if (nodeVariable('GOVERNOR_OTEL', env) !== '1') return undefined;
  return { entityKey: (address) => `~${pseudonymiseCustomer(address.key, pseudonymKey).slice(0, 16)}` };
}

/**
 * What a node reports of its transport: the depths of the partition queues it owns (each partition
 * by its owner only), its own counters, and, when it is the fleet's reporter ({@link fleetReporter}),
 * the dead-letter queue's depth and the producers' door refusals, so sums over nodes count each once.
 */
function queueSampler(
  redis: { readonly client: Redis; readonly prefix: string },
  transport: TelemetryTransport,
  self: string,
): { sample: QueueSampler; close: () => Promise<void> } {
  // Made again after a failed start (a Redis outage), or the node's metrics would fail for good.
  const queues = new QueueCache((name) => new Queue(name, { connection: redis.client, prefix: redis.prefix }));
  const queueOf = (name: string): Queue => queues.get(name);
  const sample: QueueSampler = async () => {
    const owned = transport.ownedPartitions();
    const totals = {
      deadLettered: transport.deadLetteredJobs?.(),
      duplicatesSkipped: transport.duplicateMessages?.(),
      messagesRefused: transport.refusedMessages?.(),
      commitConflicts: transport.commitConflicts?.(),
    };
    // Redis away: the node's own counters are still reported, the queue gauges are left out.
    const fromRedis = await readQueues(owned).catch(() => undefined);
    if (!fromRedis) return { partitionsOwned: owned.length, totals };
    const { door, ...gauges } = fromRedis;
    return { partitionsOwned: owned.length, ...gauges, totals: { ...totals, ...(door && { door }) } };
  };
  type FromRedis = Pick<MetricsSample, 'queueDepths' | 'deadLetters'> & { door?: Record<DoorRefusal, number> };
  const readQueues = async (owned: readonly string[]): Promise<FromRedis> => {
    const queueDepths: Record<string, Record<string, number>> = {};
    await Promise.all(
      owned.map(async (partition) => {
        queueDepths[partition] = await queueOf(transport.keys.partitionQueue(partition)).getJobCounts(...QUEUE_STATES);
      }),
    );
    const reporting = transport.nodes ? fleetReporter(await transport.nodes()) === self : true;
    // An empty record, not none: a node that was the reporter until now stops showing the DLQ.
    if (!reporting) return { queueDepths, deadLetters: {} };
    const dlq = transport.keys.deadLetterQueue;
    const [dlqCounts, door] = await Promise.all([queueOf(dlq).getJobCounts('waiting'), redis.client.hgetall(transport.keys.doorRefusals)]);
    return {
      queueDepths,
      deadLetters: { [dlq]: dlqCounts['waiting'] ?? 0 },
      door: { throttled: Number(door['throttled'] ?? 0), reused_key: Number(door['reused_key'] ?? 0) },
    };
  };
  // Closing a queue on a shared connection leaves the connection open (it is closed with the rest).
  return { sample, close: () => queues.close() };
}
