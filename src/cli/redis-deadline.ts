import { CliError, EXIT } from './exit-codes.ts';
import { systemClock, unrefTimer } from '../runtime/clock.ts';
import { redactUrl } from '../transport/bullmq/redis-url.ts';

/**
 * The one deadline rule of every `governor` command that talks to Redis (enqueue, dlq, repl,
 * stats, check --transport bullmq): each Redis operation (connecting included) has
 * {@link redisTimeoutMs} to answer, or the command ends with exit 3 and one line naming the Redis
 * that did not answer and what to do. A Redis frozen mid-command (SIGSTOP, a stuck host) accepts
 * the TCP connection in the kernel and then never replies, so connect and command timeouts are
 * both needed; and a command that has its answer ends even if a connection to such a Redis is
 * still open ({@link exitWhenDone}), the last resort.
 */

/** The variable that sets the deadline, in milliseconds. */
export const REDIS_TIMEOUT_ENV = 'GOVERNOR_REDIS_TIMEOUT_MS';
/** How long one Redis operation may take before a command gives up. @default 5 s */
export const DEFAULT_REDIS_TIMEOUT_MS = 5_000;
/** Above this a "deadline" no longer protects anyone. */
const MAX_REDIS_TIMEOUT_MS = 600_000;
/** After a command's answer, how long its leftover connections may take to close before the process ends anyway. */
export const EXIT_GRACE_MS = 500;

/** {@link REDIS_TIMEOUT_ENV}, checked; unset → {@link DEFAULT_REDIS_TIMEOUT_MS}. Bad → exit 2. */
export function redisTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[REDIS_TIMEOUT_ENV];
  if (text === undefined || text === '') return DEFAULT_REDIS_TIMEOUT_MS;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > MAX_REDIS_TIMEOUT_MS) {
    throw new CliError(`${REDIS_TIMEOUT_ENV}: "${text}" is not a number of milliseconds from 1 to ${MAX_REDIS_TIMEOUT_MS}`);
  }
  return ms;
}

/**
 * ioredis options for a command's connection: connect and every command bounded by the deadline,
 * a couple of quick reconnects at most. A connection that blocks (BLPOP) adds its own wait to
 * `commandTimeout`.
 */
export function deadlineRedisOptions(timeoutMs = redisTimeoutMs()) {
  return {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: (times: number): number | null => (times > 2 ? null : 200),
  };
}

/** The Redis a command was pointed at, for the one-line message when it does not answer. */
let target: string | undefined;

/** Remembers the URL a command uses (called where the URL is chosen). */
export function noteRedisTarget(url: string): void {
  target = url;
}

/**
 * True for the errors by which ioredis and BullMQ say Redis did not answer or cannot be reached
 * (as opposed to answering with an error): timeouts, refused or dropped connections, retries used up.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN'].includes(code)) return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Reached the max retries|the Redis connection closed before it was ready)/.test(error.message);
}

/** The one line for a Redis that did not answer: which one, and what to do. Exit 3. */
export function redisUnavailable(url: string | undefined, detail: string): CliError {
  const where = url === undefined ? 'Redis' : `Redis at ${redactUrl(url)}`;
  return new CliError(
    `cannot reach ${where}: ${detail}; check that it is running and answering there (--redis or REDIS_URL), or give it longer with ${REDIS_TIMEOUT_ENV}`,
    EXIT.unavailable,
  );
}

/** {@link redisUnavailable} for an error {@link isRedisUnavailable} recognised, on the noted target. */
export function redisUnavailableError(error: Error, url = target): CliError {
  let timeoutMs = DEFAULT_REDIS_TIMEOUT_MS;
  try {
    timeoutMs = redisTimeoutMs();
  } catch {
    // A bad variable was reported where it was read; the message about Redis still has to be printed.
  }
  const detail = /^Command timed out/.test(error.message) ? `no answer within ${timeoutMs} ms` : error.message.split('\n')[0]!;
  return redisUnavailable(url, detail);
}

/**
 * Ends the process once a command has its exit code: at once if nothing is left open, else after
 * {@link EXIT_GRACE_MS}. Without this, a connection to a frozen Redis (its connect still pending,
 * or answered only once Redis resumed) kept the process alive after it had said it gave up.
 */
export function exitWhenDone(code: number): void {
  process.exitCode = code;
  unrefTimer(systemClock.setTimeout(() => process.exit(code), EXIT_GRACE_MS));
}

