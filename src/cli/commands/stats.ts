import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

interface StatsFlags extends RedisFlags {
  json?: boolean;
  limit: string;
}

/** Entries read per XRANGE call. */
const PAGE = 1_000;

/**
 * `governor stats`: the product telemetry the nodes sent to their Redis stream, summarised (latency
 * p50/p95/p99 per feature, outcomes, adoption per tier) with each node's health history from the
 * summary it keeps next to the stream. The newest `--limit` events count.
 */
export function statsCommand(program: Command): void {
  program
    .command('stats')
    .description("summarise the BullMQ nodes' product telemetry on Redis: latency percentiles, adoption per tier, health")
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)")
    .option('--limit <n>', 'read at most the newest n events of the stream', '100000')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: StatsFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit: "${flags.limit}" is not a positive integer`);
      const { redisUrl, connectOrExit, prefixOf, FAIL_FAST_REDIS } = await import('../enqueue/redis.ts');
      const { createRedis } = await import('../../transport/bullmq/connections.ts');
      const { scanKeys } = await import('../../transport/bullmq/redis-servers.ts');
      const { isRedisUnavailable, redisUnavailableError } = await import('../redis-deadline.ts');
      const { RedisKeys } = await import('../../store/redis-keys.ts');
      const { decodeTelemetryEntry } = await import('../../observability/redis-stream-sink.ts');
      const { summariseTelemetryStream } = await import('../../observability/stream-summary.ts');
      const { formatTelemetrySummary } = await import('../../observability/summary.ts');
      const url = redisUrl(flags);
      const keys = new RedisKeys(prefixOf(flags));
      const redis = createRedis(url, { ...FAIL_FAST_REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined); // reported by connectOrExit or the command that failed
      try {
        await connectOrExit(url, () => redis.connect());
        const stream = keys.telemetryStream;
        // Newest first, page by page, then back in order: `--limit` keeps the most recent events.
        const entries: [string, string[]][] = [];
        let end = '+';
        while (entries.length < limit) {
          const page = await redis.xrevrange(stream, end, '-', 'COUNT', Math.min(PAGE, limit - entries.length));
          if (page.length === 0) break;
          entries.push(...page);
          end = `(${page.at(-1)![0]}`;
        }
        const events = entries.reverse().flatMap(([, fields]) => decodeTelemetryEntry(fields) ?? []);
        const nodes: Record<string, import('../../observability/summary.ts').TelemetrySummary> = {};
        const pattern = `${keys.telemetrySummary('')}*`;
        {
          for (const key of await scanKeys(redis, pattern, 200)) {
            const text = await redis.get(key);
            if (text === null) continue;
            try {
              nodes[decodeURIComponent(key.slice(pattern.length - 1))] = JSON.parse(text);
            } catch {
              // a summary that does not parse is skipped, not fatal
            }
          }
        }
        const summary = summariseTelemetryStream(events, { sink: `redis-stream:${stream}`, nodes });
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify({ ...summary, nodes: Object.keys(nodes).sort() }, null, 2)}\n`);
          return;
        }
        const names = Object.keys(nodes).sort();
        process.stdout.write(`${formatTelemetrySummary(summary)}\n`);
        process.stdout.write(`\nnodes reporting: ${names.length === 0 ? 'none (no node summary in the last hour)' : names.join(', ')}\n`);
      } catch (error) {
        if (error instanceof CliError) throw error;
        if (isRedisUnavailable(error)) throw redisUnavailableError(error as Error, url);
        throw new CliError(`Redis: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
      } finally {
        redis.disconnect();
      }
    });
}
