import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';
import { observerEndpoint } from './start.ts';

interface ObserveFlags extends RedisFlags {
  embedded?: boolean;
  port?: string;
  host?: string;
  node?: string;
  logLevel?: string;
}

/** `governor observe`: the web observer, of a running cluster (through Redis) or of an embedded node started here. */
export function observeCommand(program: Command): void {
  program
    .command('observe')
    .description('serve the web observer: the live supervision tree, cluster, entities with their machines, dead letters, queues (Bull Board, read-only) and audit trails')
    .option('--redis <url>', 'observe the cluster on this Redis (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)")
    .option('--partitions <n>', "the nodes' partition count (default: the transport's, as governor start)")
    .option('--node <name>', 'the node whose tree is shown (default: the first live node)')
    .option('--embedded', 'start an embedded node (memory transport, the marketplace running) and observe it')
    .option('--port <port>', 'port to serve on, 0 for a free one (default: 0; the URL is printed)', '0')
    .option('--host <host>', 'address to bind (default 127.0.0.1); any other needs GOVERNOR_ADMIN_TOKEN, then asked of every request')
    .action(async (flags: ObserveFlags) => {
      const endpoint = observerEndpoint(flags.port ?? '0', flags.host, { port: '--port', host: '--host' })!;
      const { createLogger } = await import('../logger.ts');
      const logger = await createLogger('warn');
      if (flags.embedded) {
        if (flags.redis !== undefined || flags.node !== undefined) throw new CliError('--embedded observes a node started here, in memory: leave out --redis and --node');
        const { startEmbedded } = await import('../embedded.ts');
        await startEmbedded({ logger, observer: endpoint, shell: false });
        process.exitCode = EXIT.ok;
        return;
      }
      const { redisUrl, connectOrExit, partitionsOf, prefixOf, FAIL_FAST_REDIS, redactUrl } = await import('../enqueue/redis.ts');
      const { createRedis } = await import('../../transport/bullmq/connections.ts');
      const { RemoteAdmin, REPLY_TIMEOUT_MS } = await import('../remote-admin.ts');
      const { observeCluster } = await import('../../observer/cluster-source.ts');
      const { nodeVariable } = await import('../node-environment.ts');
      const url = redisUrl(flags);
      const prefix = prefixOf(flags);
      const partitions = partitionsOf(flags);
      // A connection that may block in BLPOP for a node's reply: its deadline covers that wait.
      const connect = () => {
        const client = createRedis(url, { ...FAIL_FAST_REDIS, commandTimeout: FAIL_FAST_REDIS.commandTimeout + REPLY_TIMEOUT_MS, maxRetriesPerRequest: 1 });
        client.on('error', () => undefined); // surfaced by the read that fails, on the page
        return client;
      };
      const probe = await connectOrExit(url, async () => {
        const client = connect();
        await client.ping();
        return client;
      });
      let node = flags.node;
      try {
        if (!node) {
          const admin = new RemoteAdmin(probe, prefix, '', undefined);
          const live = (await admin.nodes().finally(() => admin.close())).filter((n) => n.alive);
          if (live.length === 0) throw new CliError(`no live Governor node on ${redactUrl(url)} (prefix ${prefix}): start one with governor start --redis`, EXIT.unavailable);
          node = live[0]!.name;
        }
      } finally {
        probe.disconnect();
      }
      const observer = await observeCluster({
        connect,
        prefix,
        ...(partitions !== undefined && { partitions }),
        node,
        title: `cluster on ${redactUrl(url)} (prefix ${prefix}), tree of node "${node}"`,
        endpoint,
        token: nodeVariable('GOVERNOR_ADMIN_TOKEN'),
        logger,
      });
      process.stdout.write(`Governor observer of node "${node}" on ${observer.url}; Ctrl-C stops it.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await observer.close();
      process.exitCode = EXIT.ok;
    });
}
