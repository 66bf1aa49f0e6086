import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  /** Jobs per queue and state (`waiting`, `active`, `delayed`, `failed`, …). */
  readonly queueDepths?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Entries in each dead-letter queue. */
  readonly deadLetters?: Readonly<Record<string, number>>;
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
  };
}

export interface MetricsOptions {
  /** @default 'governor_' */
  readonly prefix?: string;
  /** Labels on every series, e.g. `{ node: 'node-1' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Also export prom-client's process metrics (CPU, memory, event-loop lag, GC) into this registry.
   * @default true
   */
  readonly processMetrics?: boolean;
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
  /** `governor_queue_depth{queue,state}` */
  readonly queueDepth: Gauge<'queue' | 'state'>;
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
    help: 'Jobs in a queue, by state.',
    labelNames: ['queue', 'state'] as const,
    registers,
    collect: sampled<'queue' | 'state'>((gauge, snapshot) => {
      if (!snapshot.queueDepths) return;
      gauge.reset();
      for (const [queue, states] of Object.entries(snapshot.queueDepths)) {
        for (const [state, depth] of Object.entries(states)) gauge.set({ queue, state }, depth);
      }
    }),
  });
  const deadLetters = new Gauge({
    name: `${prefix}dead_letters`,
    help: 'Entries waiting in a dead-letter queue.',
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
  };
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });
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
