import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

interface ReplFlags extends RedisFlags {
  node?: string;
  eval?: string;
  json?: boolean;
}

/** `governor repl`: the admin REPL of a running BullMQ node, reached through Redis. */
export function replCommand(program: Command): void {
  program
    .command('repl')
    .description('attach the admin REPL to a running BullMQ node through Redis (mutations need GOVERNOR_ADMIN_TOKEN)')
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)")
    .option('--partitions <n>', "the nodes' partition count, for queues() (default: the transport's, as governor start)")
    .option('--node <name>', 'the node to attach to (default: the first live node)')
    .option('--eval <expr>', 'run one command, print its result and exit (1 if it failed)')
    .option('--json', 'with --eval: print the result as JSON (Maps as objects, errors as { error, message })')
    .action(async (flags: ReplFlags) => {
      const { redisUrl, connectOrExit, partitionsOf, prefixOf, FAIL_FAST_REDIS } = await import('../enqueue/redis.ts');
      const { createRedis } = await import('../../transport/bullmq/connections.ts');
      const { RemoteAdmin, REPLY_TIMEOUT_MS } = await import('../remote-admin.ts');
      const { isRedisUnavailable, redisUnavailableError } = await import('../redis-deadline.ts');
      const { adminCommands, createEvaluator, show, startRepl } = await import('../repl.ts');
      const { toJsonSafe } = await import('../json-safe.ts');
      if (flags.json && flags.eval === undefined) throw new CliError('--json goes with --eval: the interactive REPL prints for people');
      const url = redisUrl(flags);
      const prefix = prefixOf(flags);
      const partitions = partitionsOf(flags);
      const redis = await connectOrExit(url, async () => {
        // This connection blocks in BLPOP for a node's reply: the deadline starts after that wait.
        const client = createRedis(url, { ...FAIL_FAST_REDIS, commandTimeout: FAIL_FAST_REDIS.commandTimeout + REPLY_TIMEOUT_MS, lazyConnect: true, maxRetriesPerRequest: 1 });
        // Failures surface as the rejected connect (exit 3); without a listener ioredis prints stacks.
        client.on('error', () => undefined);
        try {
          await client.connect();
        } catch (error) {
          client.disconnect();
          throw error;
        }
        return client;
      });
      let admin: import('../remote-admin.ts').RemoteAdmin | undefined;
      try {
        const probe = new RemoteAdmin(redis, prefix, flags.node ?? '', undefined);
        let node = flags.node;
        if (!node) {
          const live = (await probe.nodes().finally(() => probe.close())).filter((n) => n.alive);
          if (live.length === 0) throw new CliError(`no live Governor node on ${url} (prefix ${prefix}): start one with governor start --redis`, EXIT.unavailable);
          node = live[0]!.name;
          process.stderr.write(`governor: attached to node ${node}${live.length > 1 ? ` (of ${live.length} live nodes; --node picks another)` : ''}\n`);
        }
        admin = new RemoteAdmin(redis, prefix, node, process.env.GOVERNOR_ADMIN_TOKEN || undefined, { partitions, readTimeoutMs: FAIL_FAST_REDIS.commandTimeout });
        const commands = adminCommands(admin, (line) => process.stdout.write(`${line}\n`));
        if (flags.eval !== undefined) {
          const result = await createEvaluator(commands, { timeoutMs: 10_000 }).call(undefined, flags.eval);
          if (result.ok) {
            process.stdout.write(`${flags.json ? JSON.stringify(toJsonSafe(result.value), null, 2) : show(result.value)}\n`);
            process.exitCode = EXIT.ok;
          } else if (isRedisUnavailable(result.cause)) {
            process.stderr.write(`governor: ${redisUnavailableError(result.cause as Error).message}\n`);
            process.exitCode = EXIT.unavailable;
          } else {
            process.stderr.write(`${result.error}\n`);
            process.exitCode = /ADMIN_TIMEOUT/.test(result.error) ? EXIT.unavailable : EXIT.failed;
          }
          return;
        }
        await startRepl(commands, { prompt: `governor(${node})> ` });
        process.exitCode = EXIT.ok;
      } finally {
        await admin?.close();
        redis.disconnect();
      }
    });
}
