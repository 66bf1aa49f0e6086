/**
 * The environment of a `governor start` node, declared once: what each variable means, whether a
 * cluster of nodes needs it, whether it is a secret, and what the node does without it. The node
 * reads its variables through {@link nodeVariable} (typed on these names), `governor deploy
 * render` writes its manifests from this list, and the README's Configuration table says the same.
 *
 * Pure data: the deployment planner imports it without pulling in the node.
 */

/** One variable a node reads. */
export interface NodeVariable {
  readonly name: string;
  /** What it does, for the README and the manifests' readers. */
  readonly meaning: string;
  /**
   * A cluster of nodes is wrong without it (nodes would disagree, or not start): `deploy render`
   * always provides it, a missing Secret key keeps the pod from starting instead of the node
   * inventing a value.
   */
  readonly required: boolean;
  /** Its value must not appear in a manifest or a log: deployments take it from a Kubernetes Secret. */
  readonly secret: boolean;
  /** What the node does when it is unset (or empty), in words. */
  readonly default: string;
  /**
   * For tests only: `deploy render` must never write it (its manifests are refused if they do),
   * and a node that reads it says so loudly.
   */
  readonly testOnly?: boolean;
}

/** Every variable a node reads, plus NODE_OPTIONS, which Node.js itself reads. */
export const NODE_ENVIRONMENT = [
  {
    name: 'REDIS_URL',
    meaning: 'the Redis of a BullMQ cluster node (redis:// or rediss://, credentials included; a Redis Cluster as redis+cluster://host1:port1,host2:port2); --redis overrides it',
    required: true,
    secret: true,
    default: 'none: without it (and without --redis) `governor start` runs the embedded node',
  },
  {
    name: 'GOVERNOR_PSEUDONYM_KEY',
    meaning: 'the key of customers\u2019 pseudonyms in receipts (\u2265 16 bytes); the same on every node, for good',
    required: true,
    secret: true,
    default: 'a random key per process, with a warning: pseudonyms then differ between nodes and restarts',
  },
  {
    name: 'GOVERNOR_TELEMETRY_SECRET',
    meaning: 'the key of the organisation tokens in product telemetry (keyed HMAC of customer ids); the same on every node',
    required: true,
    secret: true,
    default: 'a random key per process, with a warning: tokens then differ between nodes and restarts',
  },
  {
    name: 'GOVERNOR_ADMIN_TOKEN',
    meaning: 'the shared secret of mutating admin commands over Redis (governor repl signs with it)',
    required: false,
    secret: true,
    default: 'the node answers admin reads only, never a mutating command',
  },
  {
    name: 'GOVERNOR_PREFIX',
    meaning: 'the Redis key prefix the nodes share (and every command reaching them); --prefix overrides it',
    required: false,
    secret: false,
    default: 'governor',
  },
  {
    name: 'GOVERNOR_HEAP_BUDGET_MB',
    meaning: 'the heap (MiB) above which a BullMQ node passivates its least recently used idle entities; --heap-budget overrides it',
    required: false,
    secret: false,
    default: '60% of the V8 heap limit',
  },
  {
    name: 'GOVERNOR_NODE_NAME',
    meaning: 'the node\u2019s name, unique on one Redis; --name overrides it',
    required: false,
    secret: false,
    default: 'a generated name (BullMQ node), "embedded" (embedded node)',
  },
  {
    name: 'GOVERNOR_LOG_CUSTOMER_IDS',
    meaning: '1 logs customer ids as they are; otherwise every log line shows them as their pseudonym under GOVERNOR_PSEUDONYM_KEY',
    required: false,
    secret: false,
    default: 'pseudonymised',
  },
  {
    name: 'GOVERNOR_LOG_LEVEL',
    meaning: 'pino log level: fatal, error, warn, info, debug, trace or silent; --log-level overrides it',
    required: false,
    secret: false,
    default: 'warn',
  },
  {
    name: 'GOVERNOR_METRICS_PORT',
    meaning: 'serve Prometheus /metrics and /healthz on this port (0: a free one); --metrics-port overrides it',
    required: false,
    secret: false,
    default: 'no metrics endpoint',
  },
  {
    name: 'GOVERNOR_METRICS_HOST',
    meaning: 'the address the metrics endpoint listens on',
    required: false,
    secret: false,
    default: '127.0.0.1',
  },
  {
    name: 'GOVERNOR_STOP_TIMEOUT_MS',
    meaning: 'how long a stop (SIGTERM/SIGINT) may take; past it the node exits 8',
    required: false,
    secret: false,
    default: '10000',
  },
  {
    name: 'GOVERNOR_ALLOW_DATA_LOSS',
    meaning: '1: start on a Redis without AOF, as --allow-data-loss (warned at every start)',
    required: false,
    secret: false,
    default: 'refuse a Redis without AOF (exit 6)',
  },
  {
    name: 'GOVERNOR_TELEMETRY',
    meaning: '0: no product telemetry',
    required: false,
    secret: false,
    default: 'product telemetry on (BullMQ node)',
  },
  {
    name: 'GOVERNOR_TELEMETRY_ERRORS',
    meaning: '1: report rejections as telemetry error events',
    required: false,
    secret: false,
    default: 'no error reports',
  },
  {
    name: 'GOVERNOR_OTEL',
    meaning: '1: OpenTelemetry traces of jobs, actor steps and commits, carried across queues in each job\u2019s trace field (exported by the SDK the process registers)',
    required: false,
    secret: false,
    default: 'no spans',
  },
  {
    name: 'GOVERNOR_TEST_CLOCK',
    meaning: 'TEST ONLY: an ISO 8601 instant; the node\u2019s clock starts there and moves forward by clock_advance/clock_set (admin commands), firing due timers',
    required: false,
    secret: false,
    default: 'the system clock (production nodes never set it)',
    testOnly: true,
  },
  {
    name: 'NODE_OPTIONS',
    meaning: 'read by Node.js, not Governor: deployments cap the heap below the container\u2019s memory limit with it',
    required: false,
    secret: false,
    default: 'Node.js\u2019s own heap limit',
  },
] as const satisfies readonly NodeVariable[];

export type NodeVariableName = (typeof NODE_ENVIRONMENT)[number]['name'];

/** The declaration of `name`. */
export function nodeVariableOf(name: NodeVariableName): NodeVariable {
  return NODE_ENVIRONMENT.find((variable) => variable.name === name)!;
}

/**
 * A node's variable, undefined when unset or empty (an empty value is an unset one everywhere,
 * as a Kubernetes optional Secret key that is missing leaves it).
 */
export function nodeVariable(name: NodeVariableName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The test-only variables among `names` (see {@link NodeVariable.testOnly}): a manifest must hold none. */
export function testOnlyVariablesAmong(names: Iterable<string>): string[] {
  const testOnly = new Set<string>(NODE_ENVIRONMENT.filter((variable: NodeVariable) => variable.testOnly === true).map((variable) => variable.name));
  return [...names].filter((name) => testOnly.has(name));
}
