import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GOVERNOR_VERSION } from './platform.ts';

/**
 * Gauge values read at scrape time, for what is cheaper to look at than to track (actors alive,
 * mailboxes, queue depths). Every gauge in a sample is reset first, so a kind or queue that went
 * away stops being reported instead of showing its last value forever.
 */
export interface MetricsSample {
  /** Live actors by kind (`Billing`, `statem`, `supervisor`, …). */
  readonly actorsAlive?: Readonly<Record<string, number>>;
  /** Messages waiting in mailboxes by actor kind: the total and the longest single mailbox. */
  readonly mailboxes?: Readonly<Record<string, { readonly messages: number; readonly maxLength: number }>>;
  /**
   * Jobs per partition queue and state (`waiting`, `active`, `delayed`, `failed`, …), keyed by
   * partition id. A node gives only the partitions it owns, so a fleet's sum counts each once.
   */
  readonly queueDepths?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Entries in each dead-letter queue (given by one node of a fleet only: see node-telemetry). */
  readonly deadLetters?: Readonly<Record<string, number>>;
  /** Partitions this node consumes now. */
  readonly partitionsOwned?: number;
  /**
   * Running totals for the counters that are cheaper to read than to count as they happen. Each
   * must only grow; given, it replaces what was counted directly (`inc`) for that counter.
   */
  readonly totals?: {
    /** Messages received by actors, by kind, since the node started. */
    readonly messagesIn?: Readonly<Record<string, number>>;
    /** Messages sent by actors, by kind. */
    readonly messagesOut?: Readonly<Record<string, number>>;
    /** Children restarted, by supervisor name. */
    readonly supervisorRestarts?: Readonly<Record<string, number>>;
    /** Jobs this node moved to the dead-letter queue, by reason code. */
    readonly deadLettered?: Readonly<Record<string, number>>;
    /** Jobs this node skipped because their target had handled their message id before, by kind. */
    readonly duplicatesSkipped?: Readonly<Record<string, number>>;
    /** Messages this node's kinds refused (and dead-lettered), by kind. */
    readonly messagesRefused?: Readonly<Record<string, number>>;
    /** Commits the commit script refused, by result: `conflict` (versions moved) or `lost` (lease gone). */
    readonly commitConflicts?: Readonly<Record<string, number>>;
    /**
     * Fleet-wide counts kept in Redis by the producers at the door (`governor enqueue`): given by
     * one node of a fleet only, like the dead-letter queue's depth.
     */
    readonly door?: Readonly<Record<DoorRefusal, number>>;
  };
}

/** What producers refuse at the door, counted in Redis: see `RedisKeys.doorRefusals`. */
export type DoorRefusal = 'throttled' | 'reused_key';

/** `governor_build_info`'s labels, besides the version of Node.js and of Governor (always there). */
export type BuildInfo = Readonly<Record<string, string>>;

export interface MetricsOptions {
  /** Of Governor's own metrics; Node's default metrics keep their standard names. @default 'governor_' */
  readonly prefix?: string;
  /** Labels on every series, e.g. `{ node: 'node-1' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Also export prom-client's default metrics (CPU, memory, event-loop lag, GC) into this registry,
   * under their standard names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`), so
   * stock Node.js dashboards work unchanged.
   * @default true
   */
  readonly processMetrics?: boolean;
  /** More labels on `governor_build_info`, e.g. `{ placement: 'sharded' }`. */
  readonly buildInfo?: BuildInfo;
  /** Called once per scrape to refresh the sampled gauges. */
  readonly sample?: () => MetricsSample | Promise<MetricsSample>;
  /**
   * Buckets of the lifecycle latency histogram, in seconds. The orchestrator's longest state
   * timeout is 30 s, so the top bucket sits there.
   * @default [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
   */
  readonly latencyBuckets?: readonly number[];
}

/** The metric families a Governor node exports, with the registry that holds them. */
export interface GovernorMetrics {
  /** A private registry (never prom-client's global one), to serve with `serveMetrics`. */
  readonly registry: Registry;
  /** `governor_actors_alive{kind}` */
  readonly actorsAlive: Gauge<'kind'>;
  /** `governor_supervisor_restarts_total{supervisor}` */
  readonly supervisorRestarts: Counter<'supervisor'>;
  /** `governor_mailbox_messages{kind}`: messages waiting, summed over a kind's actors. */
  readonly mailboxMessages: Gauge<'kind'>;
  /** `governor_mailbox_max_length{kind}`: the longest mailbox among a kind's actors. */
  readonly mailboxMaxLength: Gauge<'kind'>;
  /** `governor_messages_received_total{kind}` */
  readonly messagesIn: Counter<'kind'>;
  /** `governor_messages_sent_total{kind}` */
  readonly messagesOut: Counter<'kind'>;
  /** `governor_queue_depth{partition,state}`: by the partition's current owner only. */
  readonly queueDepth: Gauge<'partition' | 'state'>;
  /** `governor_dead_letters{queue}`: entries waiting in a dead-letter queue. */
  readonly deadLetters: Gauge<'queue'>;
  /** `governor_lifecycle_event_duration_seconds{type,outcome}`: enqueue-to-committed latency. */
  readonly lifecycleLatency: Histogram<'type' | 'outcome'>;
  /** `governor_lifecycle_duplicates_total{type}`: events recognised by `eventId` and skipped. */
  readonly duplicates: Counter<'type'>;
  /** `governor_conflicts_total{resolution}`: last-write-wins, compensation or manual override. */
  readonly conflicts: Counter<'resolution'>;
  /** `governor_compensations_total{governor}` */
  readonly compensations: Counter<'governor'>;
  /** `governor_orchestrator_timeouts_total`: orchestrator state timeouts (each one an error path). */
  readonly timeouts: Counter;
  /** `governor_partitions_owned`: partitions this node consumes. */
  readonly partitionsOwned: Gauge;
  /** `governor_dead_lettered_total{reason}`: jobs this node moved to the dead-letter queue. */
  readonly deadLettered: Counter<'reason'>;
  /** `governor_duplicate_messages_skipped_total{kind}`: jobs whose message id was handled before. */
  readonly duplicatesSkipped: Counter<'kind'>;
  /** `governor_refused_messages_total{kind}`: messages a kind refused (e.g. an idempotency key reused for other content). */
  readonly messagesRefused: Counter<'kind'>;
  /** `governor_commit_conflicts_total{result}`: commits refused by the commit script. */
  readonly commitConflicts: Counter<'result'>;
  /** `governor_throttled_events_total`: events producers refused over their tenant's rate (fleet-wide). */
  readonly throttled: Counter;
  /** `governor_reused_key_refusals_total`: events producers refused for an eventId used before with other content (fleet-wide). */
  readonly reusedKeyRefusals: Counter;
  /** `governor_admin_requests_refused_total{code}`: remote admin requests answered with an error. */
  readonly adminRefused: Counter<'code'>;
  /** `governor_build_info{version,node_version,…} 1` */
  readonly buildInfo: Gauge<string>;
}

/**
 * Builds the node's Prometheus metrics in a registry of its own. Counters and the histogram are
 * fed by the runtime and the orchestrator as things happen; gauges are either set directly or
 * refreshed from `options.sample` at each scrape.
 *
 * Labels are kinds, supervisors, queues and governors, never customers or events: one series per
 * customer would grow without bound.
 *
 * @example
 * const metrics = createMetrics({ defaultLabels: { node: 'node-1' }, sample: () => sampleNode(node) });
 * metrics.lifecycleLatency.observe({ type: 'CustomerSubscribes', outcome: 'applied' }, 0.012);
 * const server = await serveMetrics(metrics.registry, { port: 9464 });
 */
export function createMetrics(options: MetricsOptions = {}): GovernorMetrics {
  const prefix = options.prefix ?? 'governor_';
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  const registers = [registry];
  const sample = options.sample;

  // prom-client collects all metrics of a scrape concurrently, each through its own `collect`.
  // They share one sample per scrape: the first collect starts it, the others join it, and it is
  // forgotten once taken so the next scrape samples afresh.
  let pending: Promise<MetricsSample> | undefined;
  const sampleOnce = (): Promise<MetricsSample> => {
    if (pending) return pending;
    const taking = Promise.resolve().then(() => sample!());
    pending = taking;
    const forget = (): void => {
      if (pending === taking) pending = undefined;
    };
    taking.then(forget, forget);
    return taking;
  };
  const sampled = <L extends string>(apply: (gauge: Gauge<L>, snapshot: MetricsSample) => void) =>
    sample
      ? async function (this: Gauge<L>) {
          apply(this, await sampleOnce());
        }
      : undefined;

  const actorsAlive = new Gauge({
    name: `${prefix}actors_alive`,
    help: 'Live actors by kind.',
    labelNames: ['kind'] as const,
    registers,
    collect: sampled<'kind'>((gauge, snapshot) => applyRecord(gauge, 'kind', snapshot.actorsAlive)),
  });
  const mailboxMessages = new Gauge({
    name: `${prefix}mailbox_messages`,
    help: 'Messages waiting in mailboxes, summed over the actors of a kind.',
    labelNames: ['kind'] as const,
    registers,
    collect: sampled<'kind'>((gauge, snapshot) =>
      applyRecord(gauge, 'kind', mapValues(snapshot.mailboxes, (mailbox) => mailbox.messages)),
    ),
  });
  const mailboxMaxLength = new Gauge({
    name: `${prefix}mailbox_max_length`,
    help: 'The longest mailbox among the actors of a kind.',
    labelNames: ['kind'] as const,
    registers,
    collect: sampled<'kind'>((gauge, snapshot) =>
      applyRecord(gauge, 'kind', mapValues(snapshot.mailboxes, (mailbox) => mailbox.maxLength)),
    ),
  });
  const queueDepth = new Gauge({
    name: `${prefix}queue_depth`,
    help: 'Jobs in a partition queue, by state; reported by the partition\'s current owner only, so a sum over nodes counts each once.',
    labelNames: ['partition', 'state'] as const,
    registers,
    collect: sampled<'partition' | 'state'>((gauge, snapshot) => {
      if (!snapshot.queueDepths) return;
      gauge.reset();
      for (const [partition, states] of Object.entries(snapshot.queueDepths)) {
        for (const [state, depth] of Object.entries(states)) gauge.set({ partition, state }, depth);
      }
    }),
  });
  const deadLetters = new Gauge({
    name: `${prefix}dead_letters`,
    help: 'Entries waiting in a dead-letter queue; reported by one node of a fleet (the oldest member).',
    labelNames: ['queue'] as const,
    registers,
    collect: sampled<'queue'>((gauge, snapshot) => applyRecord(gauge, 'queue', snapshot.deadLetters)),
  });

  const totalled = <L extends string>(label: L, pick: (totals: NonNullable<MetricsSample['totals']>) => Readonly<Record<string, number>> | undefined) =>
    sample
      ? async function (this: Counter<L>) {
          const values = pick((await sampleOnce()).totals ?? {});
          if (!values) return;
          this.reset();
          for (const [key, value] of Object.entries(values)) if (value > 0) this.inc({ [label]: key } as Partial<Record<L, string>>, value);
        }
      : undefined;
  // A fleet-wide total: absent from the sample on every node but one, and then not exported at
  // all (no series), rather than a 0 that a sum over nodes would have to know to ignore.
  const fleetTotal = (refusal: DoorRefusal) =>
    sample
      ? async function (this: Counter) {
          const total = (await sampleOnce()).totals?.door?.[refusal];
          this.reset();
          if (total !== undefined) this.inc(total);
        }
      : undefined;

  const metrics: GovernorMetrics = {
    registry,
    actorsAlive,
    mailboxMessages,
    mailboxMaxLength,
    queueDepth,
    deadLetters,
    supervisorRestarts: new Counter({
      name: `${prefix}supervisor_restarts_total`,
      help: 'Children restarted, by supervisor.',
      labelNames: ['supervisor'] as const,
      registers,
      collect: totalled('supervisor', (totals) => totals.supervisorRestarts),
    }),
    messagesIn: new Counter({
      name: `${prefix}messages_received_total`,
      help: 'Messages received by actors, by kind.',
      labelNames: ['kind'] as const,
      registers,
      collect: totalled('kind', (totals) => totals.messagesIn),
    }),
    messagesOut: new Counter({
      name: `${prefix}messages_sent_total`,
      help: 'Messages sent by actors, by kind.',
      labelNames: ['kind'] as const,
      registers,
      collect: totalled('kind', (totals) => totals.messagesOut),
    }),
    lifecycleLatency: new Histogram({
      name: `${prefix}lifecycle_event_duration_seconds`,
      help: 'Time from accepting a lifecycle event to committing its effects, by type and outcome.',
      labelNames: ['type', 'outcome'] as const,
      buckets: [...(options.latencyBuckets ?? [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])],
      registers,
    }),
    duplicates: new Counter({
      name: `${prefix}lifecycle_duplicates_total`,
      help: 'Lifecycle events recognised as duplicates by eventId and skipped, by type.',
      labelNames: ['type'] as const,
      registers,
    }),
    conflicts: new Counter({
      name: `${prefix}conflicts_total`,
      help: 'Conflicts between governor replies, by resolution.',
      labelNames: ['resolution'] as const,
      registers,
    }),
    compensations: new Counter({
      name: `${prefix}compensations_total`,
      help: 'Compensating actions run, by governor.',
      labelNames: ['governor'] as const,
      registers,
    }),
    timeouts: new Counter({
      name: `${prefix}orchestrator_timeouts_total`,
      help: 'Orchestrator state timeouts; each one takes the event down the error path.',
      registers,
    }),
    partitionsOwned: new Gauge({
      name: `${prefix}partitions_owned`,
      help: 'Partitions this node consumes now.',
      registers,
      collect: sampled((gauge, snapshot) => {
        if (snapshot.partitionsOwned !== undefined) gauge.set(snapshot.partitionsOwned);
      }),
    }),
    deadLettered: new Counter({
      name: `${prefix}dead_lettered_total`,
      help: 'Jobs this node moved to the dead-letter queue, by reason code.',
      labelNames: ['reason'] as const,
      registers,
      collect: totalled('reason', (totals) => totals.deadLettered),
    }),
    duplicatesSkipped: new Counter({
      name: `${prefix}duplicate_messages_skipped_total`,
      help: 'Jobs this node skipped because their target had handled their message id before, by kind.',
      labelNames: ['kind'] as const,
      registers,
      collect: totalled('kind', (totals) => totals.duplicatesSkipped),
    }),
    messagesRefused: new Counter({
      name: `${prefix}refused_messages_total`,
      help: 'Messages refused by their kind (e.g. an idempotency key reused for other content) and dead-lettered, by kind.',
      labelNames: ['kind'] as const,
      registers,
      collect: totalled('kind', (totals) => totals.messagesRefused),
    }),
    commitConflicts: new Counter({
      name: `${prefix}commit_conflicts_total`,
      help: 'Commits refused by the commit script: conflict (a version moved) or lost (the partition lease was gone).',
      labelNames: ['result'] as const,
      registers,
      collect: totalled('result', (totals) => totals.commitConflicts),
    }),
    throttled: new Counter({
      name: `${prefix}throttled_events_total`,
      help: "Events producers refused because their tenant was over its tier's rate, fleet-wide; reported by one node (the oldest member).",
      registers,
      collect: fleetTotal('throttled'),
    }),
    reusedKeyRefusals: new Counter({
      name: `${prefix}reused_key_refusals_total`,
      help: 'Events producers refused because their eventId was used before with other content, fleet-wide; reported by one node (the oldest member).',
      registers,
      collect: fleetTotal('reused_key'),
    }),
    adminRefused: new Counter({
      name: `${prefix}admin_requests_refused_total`,
      help: 'Remote admin requests answered with an error, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    buildInfo: new Gauge({
      name: `${prefix}build_info`,
      help: 'Always 1; the labels say which Governor and Node.js versions this node runs.',
      labelNames: ['version', 'node_version', ...Object.keys(options.buildInfo ?? {})],
      registers,
    }),
  };
  metrics.buildInfo.set({ ...options.buildInfo, version: GOVERNOR_VERSION, node_version: process.version }, 1);
  // No prefix: Node's default metrics under the names every Node.js dashboard expects.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return metrics;
}

function mapValues<T>(
  record: Readonly<Record<string, T>> | undefined,
  fn: (value: T) => number,
): Record<string, number> | undefined {
  return record && Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}

function applyRecord<L extends string>(gauge: Gauge<L>, label: L, values: Readonly<Record<string, number>> | undefined): void {
  if (!values) return;
  gauge.reset();
  for (const [key, value] of Object.entries(values)) gauge.set({ [label]: key } as Partial<Record<L, string>>, value);
}
