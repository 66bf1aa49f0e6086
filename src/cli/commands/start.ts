import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import { nodeVariable } from '../node-environment.ts';
import { isLoopback } from '../../observer/loopback.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface StartFlags {
  redis?: string;
  prefix?: string;
  shell?: boolean;
  embedded?: boolean;
  name?: string;
  logLevel?: string;
  metricsPort?: string;
  allowDataLoss?: boolean;
  heapBudget?: string;
  observer?: string;
  observerHost?: string;
}

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('start a node: embedded with the admin REPL (no Redis, or --embedded), or a BullMQ cluster node with --redis / REDIS_URL')
    .option('--embedded', 'the embedded node with the admin REPL, even when REDIS_URL is set (npm start)')
    .option('--redis <url>', 'Redis URL for a BullMQ node (default: $REDIS_URL)')
    .option('--prefix <prefix>', 'Redis key prefix of a BullMQ node, shared by the nodes that work together (default: $GOVERNOR_PREFIX or governor)')
    .option('--shell', 'attach the admin REPL to a BullMQ node too')
    .option('--name <name>', 'node name, unique on one Redis (default: $GOVERNOR_NODE_NAME, else generated)')
    .option('--allow-data-loss', 'run a BullMQ node on a Redis without AOF (also GOVERNOR_ALLOW_DATA_LOSS=1): a Redis restart then loses events and decisions')
    .option('--heap-budget <MiB>', 'heap above which a BullMQ node passivates its least recently used idle entities (default: $GOVERNOR_HEAP_BUDGET_MB, else 60% of the heap limit)')
    .option('--log-level <level>', 'pino level: fatal, error, warn, info, debug, trace, silent (default: $GOVERNOR_LOG_LEVEL, else warn)')
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port, 0 for a free one (default: $GOVERNOR_METRICS_PORT; host $GOVERNOR_METRICS_HOST or 127.0.0.1)')
    .option('--observer <port>', 'serve the web observer (supervision tree, entities, dead letters, audit) on this port, 0 for a free one; the URL is printed')
    .option('--observer-host <host>', 'bind the observer here (default 127.0.0.1); any other address needs GOVERNOR_ADMIN_TOKEN')
    .action(async (flags: StartFlags) => {
      // Imported when a node starts, not when the program is built: `governor --help` stays light.
      const [{ createLogger }, { metricsEndpoint }, { testClockFromEnv, testClockNotice }] = await Promise.all([import('../logger.ts'), import('../node-telemetry.ts'), import('../test-clock.ts')]);
      // Logs go to stderr (pretty on a terminal, JSON lines otherwise), so the REPL on stdout stays readable.
      const logger = await createLogger(logLevelOf(flags));
      if (flags.embedded && (flags.redis !== undefined || flags.shell)) throw new CliError('--embedded runs the node in memory, without Redis: leave out --redis and --shell');
      const url = flags.embedded ? undefined : (flags.redis ?? nodeVariable('REDIS_URL'));
      const name = flags.name ?? nodeVariable('GOVERNOR_NODE_NAME');
      const metrics = metricsEndpoint(flags.metricsPort);
      const observer = observerEndpoint(flags.observer, flags.observerHost);
      // Checked before anything starts (a bad instant is exit 2), and said at once, on stdout and in the log.
      const testClock = testClockFromEnv();
      if (testClock) logger.warn({ testClock: new Date(testClock.start).toISOString() }, testClockNotice(testClock));
      if (url) {
        const { startBullmq } = await import('../bullmq-node.ts');
        const { prefixOf } = await import('../enqueue/redis.ts');
        const allowDataLoss = flags.allowDataLoss === true || nodeVariable('GOVERNOR_ALLOW_DATA_LOSS') === '1';
        const { clusterBanner } = await import('../node-banner.ts');
        const prefix = prefixOf(flags);
        process.stdout.write(`${clusterBanner(url, prefix, flags.redis === undefined)}\n`);
        if (testClock) process.stdout.write(`${testClockNotice(testClock)}.\n`);
        const heapBudgetMb = heapBudgetOf(flags);
        process.exitCode = await startBullmq({ url, prefix, shell: flags.shell === true, name, logger, metrics, allowDataLoss, testClock, heapBudgetMb, ...(observer && { observer }) });
      } else {
        const { startEmbedded } = await import('../embedded.ts');
        if (testClock) process.stdout.write(`${testClockNotice(testClock)}.\n`);
        await startEmbedded({ name, logger, metrics, testClock, ...(observer && { observer }) });
        process.exitCode = EXIT.ok;
      }
    });
}

/**
 * `--observer <port>` and `--observer-host`, checked before anything starts. A bind beyond
 * loopback without GOVERNOR_ADMIN_TOKEN is refused here (exit 2), saying why.
 */
export function observerEndpoint(port: string | undefined, host: string | undefined, flags = { port: '--observer', host: '--observer-host' }): { port: number; host?: string } | undefined {
  if (port === undefined) {
    if (host !== undefined) throw new CliError(`${flags.host} goes with ${flags.port} <port>`);
    return undefined;
  }
  const n = Number(port);
  if (port.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) throw new CliError(`${flags.port}: "${port}" is not a port (0 to 65535; 0 picks a free one)`);
  if (host !== undefined && !isLoopback(host) && !nodeVariable('GOVERNOR_ADMIN_TOKEN')) {
    throw new CliError(`the observer on ${host} would be reachable beyond this machine: set GOVERNOR_ADMIN_TOKEN (every request then needs it) or leave out ${flags.host}`);
  }
  return { port: n, ...(host !== undefined && { host }) };
}

/** `--heap-budget`, checked before anything starts: a typo is exit 2, never a budget silently ignored. */
function heapBudgetOf(flags: StartFlags): number | undefined {
  if (flags.heapBudget === undefined) return undefined;
  const mib = Number(flags.heapBudget);
  if (flags.heapBudget.trim() === '' || !Number.isFinite(mib) || mib <= 0) {
    throw new CliError(`--heap-budget: "${flags.heapBudget}" is not a positive number of MiB (e.g. --heap-budget 512)`);
  }
  return mib;
}

/** `--log-level`, else GOVERNOR_LOG_LEVEL, else warn; checked, so a typo is exit 2 rather than a stack trace. */
function logLevelOf(flags: StartFlags): string {
  const level = flags.logLevel ?? nodeVariable('GOVERNOR_LOG_LEVEL') ?? 'warn';
  if (!LOG_LEVELS.includes(level)) {
    const source = flags.logLevel === undefined ? 'GOVERNOR_LOG_LEVEL' : '--log-level';
    throw new CliError(`${source}: "${level}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return level;
}
