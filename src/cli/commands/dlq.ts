import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

function redisOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)");
}

async function withClient<T>(flags: RedisFlags, run: (client: import('../enqueue/dead-letters.ts').DeadLetterClient) => Promise<T>): Promise<T> {
  const { redisUrl, prefixOf } = await import('../enqueue/redis.ts');
  const url = redisUrl(flags);
  const { DeadLetterClient } = await import('../enqueue/dead-letters.ts');
  const { isRedisUnavailable, redisUnavailableError } = await import('../redis-deadline.ts');
  const client = await DeadLetterClient.connect({ url, prefix: prefixOf(flags) });
  try {
    return await run(client);
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (isRedisUnavailable(error)) throw redisUnavailableError(error as Error, url);
    throw new CliError(`Redis: ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable);
  } finally {
    await client.close();
  }
}

export function dlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters of the BullMQ nodes on Redis: messages that could not be handled');
  redisOptions(dlq.command('list').description('list dead letters, oldest first'))
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '1000')
    .action(async (flags: RedisFlags & { json?: boolean; limit: string }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit: "${flags.limit}" is not a positive integer`);
      const letters = await withClient(flags, (client) => client.list(0, limit - 1));
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
        return;
      }
      if (letters.length === 0) {
        process.stdout.write('no dead letters\n');
        return;
      }
      const { table } = await import('../output.ts');
      const rows = letters.map((l) => [l.id, new Date(l.at).toISOString(), l.node, l.name, l.reason.replace(/\s+/g, ' ')]);
      process.stdout.write(`${table([['id', 'at', 'node', 'name', 'reason'], ...rows])}\n`);
    });
  redisOptions(dlq.command('replay').description('put a dead letter back into its queue (same message id, a new job) and remove it from the dead letters, and its failed original from its queue'))
    .argument('<id>', 'dead letter id, as dlq list prints it')
    .action(async (id: string, flags: RedisFlags) => {
      const result = await withClient(flags, (client) => client.replay(id));
      if (!result.ok) throw new CliError(`no dead letter "${id}" (governor dlq list shows them)`, EXIT.usage);
      process.stdout.write(`replayed ${id} into ${result.queue} as job ${result.jobId}\n`);
    });
}
