import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import { createLogger } from '../logger.ts';
import { metricsEndpoint } from '../node-telemetry.ts';

interface StartFlags {
  redis?: string;
  prefix?: string;
  shell?: boolean;
  embedded?: boolean;
  name?: string;
  logLevel: string;
  metricsPort?: string;
  allowDataLoss?: boolean;
}

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('start a node: embedded with the admin REPL (no Redis, or --embedded), or a BullMQ cluster node with --redis / REDIS_URL')
    .option('--embedded', 'the embedded node with the admin REPL, even when REDIS_URL is set (npm start)')
    .option('--redis <url>', 'Redis URL for a BullMQ node (default: $REDIS_URL)')
    .option('--prefix <prefix>', 'Redis key prefix of a BullMQ node, shared by the nodes that work together (default: $GOVERNOR_PREFIX or {governor})')
    .option('--shell', 'attach the admin REPL to a BullMQ node too')
    .option('--name <name>', 'node name (unique on one Redis)')
    .option('--allow-data-loss', 'run a BullMQ node on a Redis without AOF (also GOVERNOR_ALLOW_DATA_LOSS=1): a Redis restart then loses events and decisions')
    .option('--log-level <level>', 'pino level: fatal, error, warn, info, debug', 'warn')
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port, 0 for a free one (default: $GOVERNOR_METRICS_PORT; host $GOVERNOR_METRICS_HOST or 127.0.0.1)')
    .action(async (flags: StartFlags) => {
      // Logs go to stderr (pretty on a terminal, JSON lines otherwise), so the REPL on stdout stays readable.
      const logger = await createLogger(flags.logLevel);
      if (flags.embedded && (flags.redis !== undefined || flags.shell)) throw new CliError('--embedded runs the node in memory, without Redis: leave out --redis and --shell');
      const url = flags.embedded ? undefined : (flags.redis ?? process.env.REDIS_URL);
      const metrics = metricsEndpoint(flags.metricsPort);
      if (url) {
        const { startBullmq } = await import('../bullmq-node.ts');
        const { prefixOf } = await import('../enqueue/redis.ts');
        const allowDataLoss = flags.allowDataLoss === true || process.env.GOVERNOR_ALLOW_DATA_LOSS === '1';
        const { clusterBanner } = await import('../node-banner.ts');
        const prefix = prefixOf(flags);
        process.stdout.write(`${clusterBanner(url, prefix, flags.redis === undefined)}\n`);
        process.exitCode = await startBullmq({ url, prefix, shell: flags.shell === true, name: flags.name, logger, metrics, allowDataLoss });
      } else {
        const { startEmbedded } = await import('../embedded.ts');
        await startEmbedded({ name: flags.name, logger, metrics });
        process.exitCode = EXIT.ok;
      }
    });
}
