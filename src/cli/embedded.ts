import type { Logger } from 'pino';
import { createNode } from '../runtime/node.ts';
import { startMarketplace, type Marketplace } from '../../supervisors/marketplace.ts';
import { parseLifecycleEvent } from '../marketplace/event-validation.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { LocalAdmin } from './admin.ts';
import { adminCommands, startRepl, type Command } from './repl.ts';
import { createNodeTelemetry, type MetricsEndpoint } from './node-telemetry.ts';

/** The marketplace's own REPL commands, on top of the OTP-named ones. */
export function marketplaceCommands(market: Marketplace, now: () => number): Record<string, Command> {
  return {
    enqueue: {
      usage: "enqueue({ type: 'CustomerSubscribes', customerId, sku, tier, ... })",
      help: 'validate a lifecycle event and process it; eventId and occurredAt are filled in if missing',
      run: async (input: Record<string, unknown>) => {
        const event = {
          eventId: `repl-${now()}-${Math.random().toString(36).slice(2, 8)}`,
          occurredAt: new Date(now()).toISOString(),
          ...input,
        };
        const parsed = parseLifecycleEvent(event);
        if (!parsed.ok) {
          const lines = parsed.issues.map((i) => `  ${i.message}`);
          throw new TypeError(`the event was not accepted:\n${lines.join('\n')}`);
        }
        return market.submit(parsed.event as unknown as LifecycleEvent);
      },
    },
    state: {
      usage: "state('Billing', customerId)",
      help: "a customer's actor state, live or persisted",
      run: (kind: string, customerId: string) => market.stateOf(kind, customerId) ?? 'no such actor',
    },
    audit_verify: {
      usage: 'audit_verify(customerId)',
      help: "verify a customer's receipt chain",
      run: (customerId: string) => market.verifyReceipts(customerId),
    },
  };
}

/**
 * `governor start` without Redis: one node with the memory transport, the marketplace tree
 * running, and the admin REPL attached, like `erl`. Resolves when the REPL ends.
 */
export async function startEmbedded(options: { name?: string; logger: Logger; metrics?: MetricsEndpoint }): Promise<void> {
  const node = createNode({ name: options.name ?? 'embedded', logger: options.logger });
  // Metrics only: product telemetry goes to a Redis stream, and an embedded node has no Redis.
  const telemetry = createNodeTelemetry({ endpoint: options.metrics, logger: options.logger });
  const market = startMarketplace(node, { entities: { observe: telemetry.observer } });
  const server = await telemetry.attach(node);
  const admin = new LocalAdmin(node, () => market.root);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (server) process.stderr.write(`governor: metrics on ${server.url}\n`);
  process.stdout.write(
    `Governor embedded node "${node.name}": the marketplace tree is running (memory transport).\n` +
      `Type help() for commands, e.g. enqueue({ type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' }).\n`,
  );
  await startRepl({ ...adminCommands(admin, print), ...marketplaceCommands(market, () => node.clock.now()) }, { prompt: `governor(${node.name})> ` });
  await market.stop();
  await node.stop();
  await telemetry.stop();
}
