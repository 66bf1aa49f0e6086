import type { Logger } from 'pino';
import { createNode } from '../create-node.ts';
import type { TestClock } from '../runtime/clock.ts';
import { startMarketplace, type Marketplace } from '../../supervisors/marketplace.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { LocalAdmin } from './admin.ts';
import { AdminUnavailableError, checkReplEvent, noChain, summariseChains, type AdminOperations } from './admin-operations.ts';
import { adminCommands, startRepl } from './repl.ts';
import { eraseEmbeddedCustomer, exportEmbeddedCustomer } from './customer/embedded-customer.ts';
import { createNodeTelemetry, type MetricsEndpoint } from './node-telemetry.ts';
import { nodeVariable } from './node-environment.ts';
import type { ObserverEndpoint } from '../observer/attach.ts';

const NO_QUEUES = 'the embedded node runs on the memory transport, without queues; start a node with governor start --redis';

/**
 * The embedded marketplace's operations: an event is processed at once (so enqueue answers with
 * its outcome, not only its id), chains are verified by the Receipts entities; no queues here.
 */
export function marketplaceOperations(market: Marketplace, now: () => number): AdminOperations {
  const verify = async (customerId: string) =>
    // Asking a Receipts entity that never existed would start an empty one: say there is none, as Redis reads do.
    market.stateOf('Receipts', customerId) === undefined
      ? noChain(customerId)
      : { customerId, ...(await market.verifyReceipts(customerId)) };
  return {
    async enqueue(input) {
      return market.submit(checkReplEvent(input, now()) as unknown as LifecycleEvent);
    },
    async audit_verify(customerId) {
      if (customerId !== undefined) {
        if (typeof customerId !== 'string') throw new TypeError('audit_verify(customerId?) takes a customer id string');
        return verify(customerId);
      }
      market.persist();
      return summariseChains(await Promise.all(market.store.keys('Receipts').sort().map(verify)));
    },
    queues: () => Promise.reject(new AdminUnavailableError('queues', NO_QUEUES)),
    dlq: () => Promise.reject(new AdminUnavailableError('dlq', NO_QUEUES)),
    dlq_replay: () => Promise.reject(new AdminUnavailableError('dlq_replay', NO_QUEUES)),
    customer_export: async (customerId) => exportEmbeddedCustomer(market, customerId, now()),
    customer_erase: (customerId) => eraseEmbeddedCustomer(market, customerId, now()),
  };
}

/**
 * `governor start` without Redis: one node with the memory transport, the marketplace tree
 * running, and the admin REPL attached, like `erl`. Resolves when the REPL ends.
 */
export async function startEmbedded(options: {
  name?: string;
  logger: Logger;
  metrics?: MetricsEndpoint;
  testClock?: TestClock;
  /** `--observer`: the web observer on this port. */
  observer?: ObserverEndpoint;
  /** The admin REPL on stdin/stdout; without it the node runs until SIGINT/SIGTERM. @default true */
  shell?: boolean;
}): Promise<void> {
  const name = options.name ?? 'embedded';
  const logger = options.logger.child({ node: name });
  const node = createNode({ name, logger, ...(options.testClock && { clock: options.testClock }) });
  // Metrics only: product telemetry goes to a Redis stream, and an embedded node has no Redis.
  const telemetry = createNodeTelemetry({ endpoint: options.metrics, logger });
  const market = startMarketplace(node, { entities: { observe: telemetry.observer } });
  const server = await telemetry.attach(node);
  const admin = new LocalAdmin(node, () => market.root, marketplaceOperations(market, () => node.clock.now()), {
    // An entity the host has passivated is read as the memory store has it.
    entities: { committed: (address) => market.store.load(address) },
  }, options.testClock);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (server) process.stderr.write(`governor: metrics on ${server.url}\n`);
  // Imported only when asked for: a node without an observer never loads its server.
  const observer = options.observer
    ? await (await import('../observer/attach.ts')).observeNode({ endpoint: options.observer, node, admin, title: `embedded node "${node.name}"`, logger, token: nodeVariable('GOVERNOR_ADMIN_TOKEN') })
    : undefined;
  if (options.shell === false) {
    process.stdout.write(`Governor embedded node "${node.name}": the marketplace tree is running (memory transport); SIGTERM or Ctrl-C stops it.\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } else {
    process.stdout.write(
      `Governor embedded node "${node.name}": the marketplace tree is running (memory transport).\n` +
        `Type help() for commands, e.g. enqueue({ type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' }).\n`,
    );
    await startRepl(adminCommands(admin, print), { prompt: `governor(${node.name})> ` });
  }
  await observer?.close();
  await market.stop();
  await node.stop();
  await telemetry.stop();
}
