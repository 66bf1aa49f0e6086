import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GovernorError } from '../errors.ts';
import type { Admin } from '../cli/admin.ts';
import { AdminAuthError, sign, verify, type AdminRequest } from '../cli/admin-protocol.ts';
import { RemoteAdmin } from '../cli/remote-admin.ts';

/** The admin actions the page offers; every one changes the system, so each needs the token. */
export const OBSERVER_ACTIONS = ['restart_child', 'terminate_child', 'suspend', 'resume', 'dlq_replay'] as const;
export type ObserverAction = (typeof OBSERVER_ACTIONS)[number];

/** An action the page asked for that is not one of {@link OBSERVER_ACTIONS}. */
export class UnknownActionError extends GovernorError {
  constructor(command: string) {
    super('OBSERVER_UNKNOWN_ACTION', `the observer runs ${OBSERVER_ACTIONS.join(', ')}; not ${command} (use governor repl for the rest)`);
  }
}

/**
 * Where the page's admin actions go: a request of the REPL's admin protocol, signed with the
 * token the operator typed into the page (never stored by the server), checked by the node's
 * rules. The page has no way around it: without the token, it gets the node's refusal.
 */
export interface AdminGateway {
  run(command: string, args: readonly unknown[], token: string | undefined): Promise<unknown>;
  close(): Promise<void>;
}

/** The action, if it is one the page may ask for; else {@link UnknownActionError}. */
export function checkAction(command: string): ObserverAction {
  if (!(OBSERVER_ACTIONS as readonly string[]).includes(command)) throw new UnknownActionError(command);
  return command as ObserverAction;
}

/**
 * The gateway of an observer inside the node's process: the request is built and signed as the
 * REPL builds it, then checked with the protocol's own {@link verify} against the node's token,
 * refused or run on the node's Admin. A refusal is logged and counted as the admin listener does.
 */
export function localGateway(options: {
  admin: Admin;
  node: string;
  /** GOVERNOR_ADMIN_TOKEN of the node; without it every action is refused (ADMIN_NO_TOKEN). */
  nodeToken: string | undefined;
  logger: Logger;
  onRefused?: (code: string) => void;
  now?: () => number;
}): AdminGateway {
  const now = options.now ?? (() => Date.now());
  return {
    async run(command, args, token) {
      const action = checkAction(command);
      const unsigned: AdminRequest = { id: randomUUID(), node: options.node, command: action, args: [...args], nonce: randomBytes(16).toString('hex'), issuedAt: now() };
      const request = token ? sign(unsigned, token) : unsigned;
      try {
        verify(request, options.nodeToken, now());
      } catch (error) {
        if (error instanceof AdminAuthError) {
          options.logger.warn({ command: action, code: error.code, id: request.id, via: 'observer' }, 'admin command refused');
          options.onRefused?.(error.code);
        }
        throw error;
      }
      options.logger.info({ command: action, args, id: request.id, via: 'observer' }, 'admin command');
      return runOn(options.admin, action, request.args);
    },
    close: async () => undefined,
  };
}

/** Runs a verified action on an Admin. */
export function runOn(admin: Admin, action: ObserverAction, args: readonly unknown[]): Promise<unknown> {
  switch (action) {
    case 'restart_child': return admin.restart_child(args[0], String(args[1]));
    case 'terminate_child': return admin.terminate_child(args[0], String(args[1]));
    case 'suspend': return admin.suspend(args[0]);
    case 'resume': return admin.resume(args[0]);
    case 'dlq_replay': return admin.dlq_replay(String(args[0]));
  }
}

/**
 * The gateway of `governor observe --redis`: the REPL's own {@link RemoteAdmin} with the page's
 * token, so the node's admin listener checks, logs and counts each request as it does the REPL's.
 * Without a token it is refused here first, as the REPL refuses it (ADMIN_NO_TOKEN).
 */
export function remoteGateway(options: { redis: Redis; prefix: string; node: () => Promise<string>; logger: Logger }): AdminGateway {
  // One action at a time on one blocking connection: admin traffic is a person clicking.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run(command, args, token) {
      const action = checkAction(command);
      const next = queue.then(async () => {
        const admin = new RemoteAdmin(options.redis, options.prefix, await options.node(), token || undefined);
        try {
          return await admin.request(action, [...args]);
        } catch (error) {
          if (error instanceof GovernorError && error.code.startsWith('ADMIN_')) options.logger.warn({ command: action, code: error.code, via: 'observer' }, 'admin command refused');
          throw error;
        } finally {
          await admin.close();
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
    close: async () => {
      options.redis.disconnect();
    },
  };
}
