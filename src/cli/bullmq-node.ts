import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { startBullmqNode, installSignalHandlers, describePersistence, RedisNotDurableError } from '../transport/bullmq/index.ts';
import { DatasetRolledBackError } from '../store/redis-errors.ts';
import { LegacyKeyLayoutError } from '../store/layout-check.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import { createRedis } from '../transport/bullmq/connections.ts';
import { defaultNodeName } from '../transport/bullmq/start-node.ts';
import { LocalAdmin } from './admin.ts';
import { startAdminListener } from './admin-listener.ts';
import { bullmqOperations } from './bullmq-operations.ts';
import { ClusterReads } from './cluster-reads.ts';
import { bullmqEntitySource } from './entity-reads.ts';
import { adminCommands, startRepl } from './repl.ts';
import { EXIT } from './exit-codes.ts';
import { exitAfterStop, stopTimeoutMs } from './node-stop.ts';
import { redactUrl } from '../transport/bullmq/redis-url.ts';
import { redisTimeoutMs } from './redis-deadline.ts';
import { createNodeTelemetry, nodeTracing, type MetricsEndpoint } from './node-telemetry.ts';
import { resolveSettings } from '../transport/bullmq/options.ts';
import { nodeVariable } from './node-environment.ts';
import type { TestClock } from '../runtime/clock.ts';
import { testClockNotice } from './test-clock.ts';
import type { ObserverEndpoint } from '../observer/attach.ts';

/**
 * `governor start` with Redis: a BullMQ node hosting the marketplace's entities, sharing the work
 * with every other node on the same Redis. Headless (it runs until SIGTERM/SIGINT) unless
 * `shell` attaches the admin REPL.
 */
export async function startBullmq(options: {
  url: string;
  prefix: string;
  shell: boolean;
  name?: string;
  logger: Logger;
  metrics?: MetricsEndpoint;
  allowDataLoss?: boolean;
  /** `--heap-budget` (MiB); undefined: GOVERNOR_HEAP_BUDGET_MB, else the default. */
  heapBudgetMb?: number;
  /** GOVERNOR_TEST_CLOCK: the node's runtime clock, moved by clock_advance/clock_set. Tests only. */
  testClock?: TestClock;
  /** `--observer`: the web observer on this port. */
  observer?: ObserverEndpoint;
}): Promise<number> {
  // Named before anything logs, so every line of the node's log says which node it is.
  const name = options.name ?? defaultNodeName();
  const logger = options.logger.child({ node: name });
  const stopDeadlineMs = stopTimeoutMs();
  const pseudonymKey = nodeVariable('GOVERNOR_PSEUDONYM_KEY') ?? randomBytes(32).toString('base64url');
  if (nodeVariable('GOVERNOR_PSEUDONYM_KEY') === undefined) {
    logger.warn('GOVERNOR_PSEUDONYM_KEY is not set: receipt pseudonyms will differ between nodes and restarts');
  }
  const telemetry = createNodeTelemetry({ endpoint: options.metrics, logger: logger, redis: { url: options.url, prefix: resolveSettings({ prefix: options.prefix }).prefix } });
  let started;
  try {
    started = await startBullmqNode({
      url: options.url,
      prefix: options.prefix,
      name,
      logger: logger,
      kinds: marketplaceKinds({ pseudonymKey }),
      // As the embedded marketplace: a customer's actors at rest drop their snapshots once its event is committed.
      entityHost: { observe: telemetry.observer, hibernation: { afterCommit: true } },
      tracing: nodeTracing(pseudonymKey),
      durability: options.allowDataLoss ? 'allow-data-loss' : 'require',
      // A wrong URL or a Redis that is down: exit 3 in one line, not a silent wait.
      connectTimeoutMs: redisTimeoutMs(),
      ...(options.heapBudgetMb !== undefined && { heapBudgetMb: options.heapBudgetMb }),
      ...(options.testClock && { clock: options.testClock }),
      onGiveUp: (reason) => process.exit(reason instanceof DatasetRolledBackError ? EXIT.rolledBack : EXIT.gaveUp),
    });
    const server = await telemetry.attach(started.node, started.transport);
    if (server) process.stderr.write(`governor: metrics on ${server.url}\n`);
  } catch (error) {
    await started?.stop({ timeoutMs: 0 }).catch(() => undefined);
    await telemetry.stop();
    process.stderr.write(`governor: cannot start a BullMQ node on ${redactUrl(options.url)}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof RedisNotDurableError) return EXIT.notDurable;
    if (error instanceof DatasetRolledBackError) return EXIT.rolledBack;
    // Data in the old key layout: nothing was started; migrate it (the message says how), then start.
    if (error instanceof LegacyKeyLayoutError) return EXIT.usage;
    return EXIT.unavailable;
  }
  const { node, transport } = started;
  const persistence = transport.persistence ? describePersistence(transport.persistence) : 'Redis persistence unknown';
  logger.info({ persistence }, 'node started');
  // Said again once the node has its name, for whoever reads only the log (the banner said it first).
  if (options.testClock) logger.warn(testClockNotice(options.testClock));
  const clockNote = options.testClock ? `; TEST CLOCK at ${new Date(options.testClock.now()).toISOString()}` : '';
  // Reads of queues, dead letters and chains on a connection of their own, as the REPL reads them.
  const reads = new ClusterReads(createRedis(options.url, { ...transport.settings.redis, maxRetriesPerRequest: 2 }), transport.settings.prefix, transport.settings.partitions, transport.settings.placement);
  const admin = new LocalAdmin(
    node,
    () => node.whereis('entities'),
    bullmqOperations(transport, reads, () => node.clock.now()),
    { entities: bullmqEntitySource(transport, reads, node.name), nodes: () => reads.nodes() },
    options.testClock,
  );
  // `governor repl --redis` reaches this node through its admin list; mutations need the token.
  const listener = startAdminListener({ url: options.url, prefix: transport.settings.prefix, node: node.name, admin, token: nodeVariable('GOVERNOR_ADMIN_TOKEN'), logger: logger, onRefused: (code) => telemetry.metrics?.adminRefused.inc({ code }) });
  // Imported only when asked for; its refusals are logged and counted as the listener's are.
  const observer = options.observer
    ? await (await import('../observer/attach.ts')).observeNode({
        endpoint: options.observer,
        node,
        admin,
        title: `cluster node "${node.name}" on ${redactUrl(options.url)} (prefix ${transport.settings.prefix})`,
        logger,
        token: nodeVariable('GOVERNOR_ADMIN_TOKEN'),
        queues: { connection: createRedis(options.url, { ...transport.settings.redis, maxRetriesPerRequest: 2 }), prefix: transport.settings.prefix },
        onRefused: (code) => telemetry.metrics?.adminRefused.inc({ code }),
      })
    : undefined;
  if (!options.shell) {
    // In-flight jobs get half the deadline; committing, relaying and releasing the leases the rest.
    // The last telemetry batch and summary go out after the node stopped, before the process ends.
    // Installed before the line below says a signal stops it: whoever reads it may send one at once.
    installSignalHandlers(node, transport, { timeoutMs: Math.floor(stopDeadlineMs / 2), deadlineMs: stopDeadlineMs, exit: exitAfterStop(node.name, () => telemetry.stop()) });
    process.stdout.write(`Governor cluster node "${node.name}" is running on ${redactUrl(options.url)} (prefix ${transport.settings.prefix}; ${persistence}${clockNote}); SIGTERM or Ctrl-C stops it.\n`);
    await new Promise(() => {}); // until a signal handler exits the process
  }
  process.stdout.write(`Governor cluster node "${node.name}" is running on ${redactUrl(options.url)} (prefix ${transport.settings.prefix}; ${persistence}${clockNote}), the admin REPL attached. Type help() for commands.\n`);
  await startRepl(adminCommands(admin, (line) => process.stdout.write(`${line}\n`)), { prompt: `governor(${node.name})> ` });
  await observer?.close();
  await listener.stop();
  await reads.close();
  await started.stop({ timeoutMs: 10_000 });
  await telemetry.stop();
  return EXIT.ok;
}
