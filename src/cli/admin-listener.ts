import { createRedis } from '../transport/bullmq/connections.ts';
import type { Logger } from 'pino';
import { GovernorError } from '../errors.ts';
import { RedisKeys } from '../store/redis-keys.ts';
import type { Admin } from './admin.ts';
import { AdminAuthError, needsSignature, parseRequest, replayedError, verify, type AdminReply, type AdminRequest } from './admin-protocol.ts';
import { toJsonSafe } from './json-safe.ts';
import { backoffDelay, sleep, type BackoffPolicy } from '../runtime/retry.ts';

/** Waiting on Redis again after an error: 250 ms, doubling, up to 5 s. */
const ADMIN_RETRY: BackoffPolicy = { initialMs: 250, maxMs: 5_000 };

/** How long a reply or a used nonce stays in Redis. Longer than the ±30 s skew window. */
const TTL_S = 60;
/** How long BLPOP blocks, so `stop()` is noticed without closing the connection mid-command. */
const BLOCK_S = 1;

export interface AdminListenerOptions {
  url: string;
  prefix: string;
  node: string;
  admin: Admin;
  /** GOVERNOR_ADMIN_TOKEN; without it the node answers read commands only. */
  token: string | undefined;
  logger: Logger;
  now?: () => number;
  /** Told the code of each request answered with an error (refused or failed), for a metric. */
  onRefused?: (code: string) => void;
}

/** A remote command refused for a reason the client should see as such (not an internal failure). */
export class AdminCommandError extends GovernorError {}

/**
 * The node side of `governor repl` over Redis: one dedicated connection (BLPOP blocks it) takes
 * requests off the node's admin list, checks them, runs them on the node's own Admin and pushes
 * the reply where the client waits. One request at a time: admin traffic is a person typing.
 */
export function startAdminListener(options: AdminListenerOptions): { stop(): Promise<void> } {
  const keys = new RedisKeys(options.prefix);
  const redis = createRedis(options.url, { connectionName: `governor:${options.node}:admin`, maxRetriesPerRequest: null });
  // Surfaced by the loop's failed BLPOP (a warning); unheard, ioredis prints a stack per reconnect.
  redis.on('error', (error) => options.logger.debug({ err: error }, 'admin listener connection error'));
  const now = options.now ?? (() => Date.now());
  let running = true;
  // Aborted by stop(): a wait after a Redis error ends at once.
  const stopping = new AbortController();
  let failures = 0;
  const loop = (async () => {
    while (running) {
      let popped: [string, string] | null;
      try {
        popped = await redis.blpop(keys.adminRequests(options.node), BLOCK_S);
      } catch (error) {
        if (!running) break;
        const delayMs = backoffDelay(ADMIN_RETRY, failures++);
        options.logger.warn({ err: error, delayMs }, 'admin listener: Redis error, retrying');
        await sleep(delayMs, { signal: stopping.signal });
        continue;
      }
      failures = 0;
      // A failed reply must not end the loop: the node would go deaf to admin requests silently.
      if (popped) await handle(popped[1]).catch((error: unknown) => options.logger.warn({ err: error }, 'admin listener: could not reply'));
    }
  })();

  async function handle(raw: string): Promise<void> {
    let request: AdminRequest;
    try {
      request = parseRequest(raw);
    } catch (error) {
      options.logger.warn({ err: error }, 'admin listener: dropped a malformed request (no id to reply to)');
      return;
    }
    const reply = await run(request);
    await redis.multi().lpush(keys.adminReply(request.id), JSON.stringify(reply)).expire(keys.adminReply(request.id), TTL_S).exec();
  }

  async function run(request: AdminRequest): Promise<AdminReply> {
    try {
      if (request.node !== options.node) throw new AdminCommandError('ADMIN_WRONG_NODE', `request for node ${request.node} reached node ${options.node}`);
      verify(request, options.token, now());
      if (needsSignature(request.command)) {
        // After the signature check, so unsigned junk cannot fill Redis with nonces.
        const fresh = await redis.set(keys.adminNonce(request.nonce), '1', 'EX', TTL_S, 'NX');
        if (fresh !== 'OK') throw replayedError(request);
        options.logger.info({ command: request.command, args: request.args, id: request.id }, 'admin command');
      }
      return { ok: true, value: toJsonSafe(await dispatch(options.admin, request)) };
    } catch (error) {
      const code = error instanceof GovernorError ? error.code : error instanceof TypeError ? 'TYPE_ERROR' : 'ADMIN_FAILED';
      // A refused request is an operator's (or an intruder's) attempt: logged, not only answered.
      if (error instanceof AdminAuthError) options.logger.warn({ command: request.command, code, id: request.id }, 'admin command refused');
      options.onRefused?.(code);
      return { ok: false, code, message: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    async stop() {
      running = false;
      stopping.abort();
      await loop;
      redis.disconnect();
    },
  };
}

/** Runs one verified request on the node's Admin. */
async function dispatch(admin: Admin, request: AdminRequest): Promise<unknown> {
  const a = request.args;
  switch (request.command) {
    case 'nodes': return admin.nodes();
    case 'tree': return admin.tree(a[0]);
    case 'which_children': return admin.which_children(a[0]);
    case 'count_children': return admin.count_children(a[0]);
    case 'get_state': return admin.get_state(a[0]);
    case 'get_status': return admin.get_status(a[0]);
    case 'state': return admin.get_state({ entity: a[0], key: a[1] });
    case 'stats': return admin.stats();
    case 'suspend': return admin.suspend(a[0]);
    case 'resume': return admin.resume(a[0]);
    case 'restart_child': return admin.restart_child(a[0], String(a[1]));
    case 'terminate_child': return admin.terminate_child(a[0], String(a[1]));
    case 'send': return admin.send(a[0], a[1]);
    case 'call': return admin.call(a[0], a[1], typeof a[2] === 'number' ? a[2] : undefined);
    // Data only: the Admin checks the change (a JSON Patch and/or a state value); nothing here is compiled.
    case 'replace_state': return admin.replace_state(a[0], a[1]);
    case 'enqueue': return admin.enqueue(a[0]);
    case 'dlq_replay': return admin.dlq_replay(a[0] as string);
    case 'queues': return admin.queues();
    case 'dlq': return admin.dlq();
    case 'audit_verify': return admin.audit_verify(a[0] as string | undefined);
    case 'customer_export': return admin.customer_export(a[0] as string);
    case 'customer_erase': return admin.customer_erase(a[0] as string);
    case 'clock': return admin.clock();
    // Refused (TEST_CLOCK_OFF) unless the node runs on GOVERNOR_TEST_CLOCK; signed like any mutation.
    case 'clock_advance': return admin.clock_advance(a[0]);
    case 'clock_set': return admin.clock_set(a[0]);
    case 'trace':
      throw new AdminCommandError('ADMIN_NOT_REMOTE', 'trace is not available remotely; use governor start --shell on the node');
    default:
      throw new AdminCommandError('ADMIN_UNKNOWN_COMMAND', `unknown admin command ${request.command}`);
  }
}
