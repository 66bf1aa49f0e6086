import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

interface MigrateFlags extends RedisFlags {
  fromPrefix?: string;
  placement?: string;
  dryRun?: boolean;
}

/**
 * `governor migrate-layout`: moves a dataset of key layout 1 (every key under one `{governor}`
 * hash tag) to layout 2 (a hash tag per partition, for Redis Cluster), which a node of this
 * version refuses to start beside (`KEY_LAYOUT_LEGACY`). See README, "Redis Cluster".
 */
export function migrateLayoutCommand(program: Command): void {
  program
    .command('migrate-layout')
    .description('move Governor data of key layout 1 (before Redis Cluster support) to layout 2; stop every node first')
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--from-prefix <prefix>', 'the old prefix (default: the new one in braces, as the old default {governor})')
    .option('--prefix <prefix>', 'the new prefix, as the nodes will run (default: $GOVERNOR_PREFIX or governor)')
    .option('--partitions <n>', "the nodes' partition count (default: the transport's, 16)")
    .option('--placement <placement>', 'sharded or distributed, as the nodes', 'sharded')
    .option('--dry-run', 'print the plan, move nothing')
    .action(async (flags: MigrateFlags) => {
      const { redisUrl, prefixOf, partitionsOf, connectOrExit, FAIL_FAST_REDIS } = await import('../enqueue/redis.ts');
      const { createRedis } = await import('../../transport/bullmq/connections.ts');
      const { scanKeys } = await import('../../transport/bullmq/redis-servers.ts');
      const { RedisKeys } = await import('../../store/redis-keys.ts');
      const { migrateLayout, LayoutMigrationError } = await import('../../store/layout-migration.ts');
      const url = redisUrl(flags);
      const prefix = prefixOf(flags);
      if (/[{}]/.test(prefix)) throw new CliError(`--prefix "${prefix}": the new prefix takes no hash tag (the keys carry one per partition)`);
      const from = flags.fromPrefix ?? `{${prefix}}`;
      if (from === prefix) throw new CliError('--from-prefix and --prefix are the same: give the old prefix (e.g. {governor}) and a new one (e.g. governor)');
      const placement = flags.placement;
      if (placement !== 'sharded' && placement !== 'distributed') throw new CliError(`--placement: "${String(placement)}" is not sharded or distributed`);
      const keys = new RedisKeys(prefix, { partitions: partitionsOf(flags) ?? 16, placement });
      const redis = createRedis(url, { ...FAIL_FAST_REDIS, maxRetriesPerRequest: 2 });
      redis.on('error', () => undefined); // surfaced by the command that fails
      try {
        await connectOrExit(url, () => redis.ping());
        const found = await scanKeys(redis, `${from.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`, 1_000);
        if (found.length === 0) {
          process.stdout.write(`nothing under "${from}": no layout-1 data to move\n`);
          return;
        }
        const report = await migrateLayout(redis, found, from, keys, { dryRun: flags.dryRun === true });
        for (const move of report.plan) {
          if (move.action === 'move') process.stdout.write(`${flags.dryRun ? 'would move' : 'moved'} ${move.key} -> ${move.to}\n`);
          else if (move.action === 'drop') process.stdout.write(`${flags.dryRun ? 'would drop' : 'dropped'} ${move.key}: ${move.why}\n`);
          else process.stdout.write(`left ${move.key}: not a Governor key\n`);
        }
        process.stdout.write(`${flags.dryRun ? 'dry run: ' : ''}${report.moved} moved, ${report.dropped} dropped, ${report.unknown.length} left; start the nodes with --prefix ${prefix}\n`);
      } catch (error) {
        if (error instanceof LayoutMigrationError) throw new CliError(error.message, EXIT.usage);
        throw error;
      } finally {
        redis.disconnect();
      }
    });
}
