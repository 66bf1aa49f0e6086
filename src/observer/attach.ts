import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AnyStateMachine } from 'xstate';
import { marketplaceKinds } from '../../machines/index.ts';
import { DOMAIN_MACHINES, isRefusal } from '../../machines/governors/machine-diagram.ts';
import type { MachineSvgOptions } from './machine-svg.ts';
import type { Admin } from '../cli/admin.ts';
import type { Node } from '../runtime/node.ts';
import { localGateway } from './admin-gateway.ts';
import { exitsOf, machinesOf, type ObserverSource } from './observer-source.ts';
import { startObserver, type RunningObserver } from './observer-server.ts';
import { isLoopback } from './loopback.ts';

/** `--observer <port>` / `governor observe --port`, and `--observer-host`. */
export interface ObserverEndpoint {
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/**
 * The marketplace's machines, for drawing only: each governor as written out (its business
 * events between its states, as `governor machines` prints them), the other kinds (Orchestrator,
 * Receipts) as they run. The states are the same, so the entity's state value is highlighted on
 * either. (The pseudonym key is never used to sign.)
 */
export function marketplaceMachines(): ReadonlyMap<string, AnyStateMachine> {
  const machines = new Map(machinesOf(marketplaceKinds({ pseudonymKey: randomBytes(32) })));
  for (const domain of DOMAIN_MACHINES) if (machines.has(domain.id)) machines.set(domain.id, domain);
  return machines;
}

/** Refusals never move: left out, as `governor machines` leaves them out. */
export const MARKETPLACE_DRAWING: MachineSvgOptions = { skip: isRefusal };

/**
 * The observer of a node running in this process (`governor start --observer`, `governor observe
 * --embedded`): reads on the node's own Admin, actions checked against the node's token with the
 * admin protocol's rules. Says where it listens, and, beyond loopback, that the token guards it.
 */
export async function observeNode(options: {
  endpoint: ObserverEndpoint;
  node: Node;
  admin: Admin;
  title: string;
  logger: Logger;
  /** GOVERNOR_ADMIN_TOKEN of the node. */
  token: string | undefined;
  queues?: { connection: Redis; prefix: string };
  onRefused?: (code: string) => void;
}): Promise<RunningObserver> {
  const source: ObserverSource = {
    title: options.title,
    admin: options.admin,
    gateway: localGateway({ admin: options.admin, node: options.node.name, nodeToken: options.token, logger: options.logger, ...(options.onRefused && { onRefused: options.onRefused }) }),
    machines: marketplaceMachines(),
    drawing: MARKETPLACE_DRAWING,
    ...(options.queues && { queues: options.queues }),
    onExit: exitsOf(options.node),
  };
  return startAnnounced(source, options.endpoint, options.token, options.logger);
}

/** Starts the observer and prints its URL on stderr (stdout may be the REPL's). */
export async function startAnnounced(source: ObserverSource, endpoint: ObserverEndpoint, token: string | undefined, logger: Logger): Promise<RunningObserver> {
  const host = endpoint.host ?? '127.0.0.1';
  const observer = await startObserver({ source, port: endpoint.port, host, ...(token && { accessToken: token }), logger });
  const guard = isLoopback(host) ? '' : ` (bound beyond loopback: every request needs GOVERNOR_ADMIN_TOKEN; open ${observer.url}?token=<token>)`;
  process.stderr.write(`governor: observer on ${observer.url}${guard}\n`);
  logger.info({ url: observer.url, guarded: guard !== '' }, 'observer started');
  return observer;
}
