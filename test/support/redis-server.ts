/**
 * The shared Redis harness for tests: a private `redis-server` per test file, or a shared server
 * from `REDIS_URL` with a unique key prefix per test.
 *
 * Private mode (the default): `redis-server` from `PATH` on a free port, in a fresh temp dir, with
 * the settings Governor requires in production (`appendonly yes`, `appendfsync everysec`,
 * `maxmemory-policy noeviction`, no RDB snapshots). The server can be killed with SIGKILL and
 * restarted on the same port and dir, so fault tests can check that AOF data survives (ask for
 * `appendfsync: 'always'` when a test asserts that acknowledged writes survive a SIGKILL).
 *
 * `persistence: 'redis-defaults'` starts one with Redis' own persistence defaults instead (no AOF,
 * RDB snapshots now and then), the Redis a node must refuse to start on.
 *
 * External mode (`REDIS_URL` set): nothing is started. The handle carries a unique `prefix`; put
 * every key you create under it (BullMQ's `prefix` option, ioredis `keyPrefix`) and `stop()`
 * deletes exactly those keys, never anything else. `kill` and `restart` are refused there; tests
 * that need them ask for `{ mode: 'private' }`. Nodes refuse a Redis without AOF: on such a shared
 * server the tests need `GOVERNOR_ALLOW_DATA_LOSS=1` too, and say so when it is missing.
 *
 * No Redis is a loud failure with the fix spelled out (SPEC §6), never a silent skip.
 *
 * @example
 * import { startRedis, type RedisHandle } from '../support/redis-server.ts';
 *
 * let redis: RedisHandle;
 * beforeAll(async () => { redis = await startRedis(); });
 * afterAll(async () => { await redis.stop(); });
 *
 * it('enqueues', async () => {
 *   const queue = new Queue('jobs', { connection: { host: redis.host, port: redis.port }, prefix: redis.prefix });
 *   const client = redis.client(); // closed by stop()
 *   await client.set(`${redis.keyPrefix}seen`, '1');
 * });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

/** Where the server came from. */
export type RedisMode = 'private' | 'external';

export interface StartRedisOptions {
  /**
   * `auto` uses `REDIS_URL` when it is set and a private server otherwise; `private` always starts
   * a private server (for tests that kill or restart Redis).
   * @default 'auto'
   */
  mode?: 'auto' | 'private';
  /**
   * The AOF fsync policy (private mode only). With `everysec`, the production setting, Redis may
   * postpone writing the AOF for up to two seconds while a slow fsync runs, so a SIGKILL can lose
   * writes it already acknowledged. A test that asserts that acknowledged writes survive
   * {@link RedisHandle.kill} asks for `always`.
   * @default 'everysec'
   */
  appendfsync?: 'everysec' | 'always';
  /**
   * `aof`: the settings Governor requires (above). `redis-defaults`: none of them, as a bare
   * `redis-server` runs (no AOF; RDB snapshots), for tests of what a node does on such a Redis.
   * Private mode only.
   * @default 'aof'
   */
  persistence?: 'aof' | 'redis-defaults';
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']` (private mode only; later ones win). */
  args?: readonly string[];
  /**
   * How long to wait for the first `PING` answer before giving up, in ms.
   * @default 10_000
   */
  startTimeoutMs?: number;
}

export interface RedisHandle {
  readonly mode: RedisMode;
  /** `redis://host:port` (private) or the `REDIS_URL` given (external). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /**
   * A unique prefix for this handle's keys without a trailing `:`: pass it as BullMQ's `prefix`.
   * Unique in private mode too, so code written against the harness works in both modes.
   */
  readonly prefix: string;
  /** `prefix + ':'`: for ioredis `keyPrefix` or for building key names by hand. */
  readonly keyPrefix: string;
  /** The server's data dir (private mode), where the AOF lives; `undefined` in external mode. */
  readonly dir: string | undefined;
  /** The running server's process id (private mode; changes on restart); `undefined` when not running or external. */
  readonly pid: number | undefined;
  /** An ioredis client for this server; every client made here is disconnected by `stop()`. */
  client(options?: RedisOptions): Redis;
  /**
   * Sends `signal` (SIGKILL unless told otherwise) and waits for the server to exit. The data dir
   * is kept for {@link RedisHandle.restart}. Private mode only.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and dir (stopping it first if it still runs). Private mode only. */
  restart(): Promise<void>;
  /**
   * Ends it all: disconnects the clients made by {@link RedisHandle.client}, then stops the private
   * server and removes its dir, or, in external mode, deletes the keys under `prefix`. Idempotent.
   */
  stop(): Promise<void>;
}

/** The message a missing Redis produces; tests and CI match on its first words. */
export const REDIS_NOT_FOUND_MESSAGE =
  'redis-server not found on PATH: install it with `apt-get install redis-server` or set REDIS_URL';

/**
 * Starts (or, with `REDIS_URL`, attaches to) a Redis server for one test file or test.
 * @throws Error with {@link REDIS_NOT_FOUND_MESSAGE} when there is no `redis-server` and no `REDIS_URL`.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const external = process.env['REDIS_URL'];
  if ((options.mode ?? 'auto') === 'auto' && external !== undefined && external !== '') {
    await externalAof(external);
    return externalHandle(external);
  }
  const binary = findOnPath('redis-server');
  if (binary === undefined) throw new Error(REDIS_NOT_FOUND_MESSAGE);
  return privateHandle(binary, options);
}

// ── private mode ─────────────────────────────────────────────────────────────────────────────

async function privateHandle(binary: string, options: StartRedisOptions): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'governor-redis-'));
  const host = '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const clients = new Set<Redis>();
  const prefix = uniquePrefix();
  let child: ChildProcess | undefined;
  let port = 0;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const persistence =
      options.persistence === 'redis-defaults'
        ? []
        : ['--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'everysec', '--maxmemory-policy', 'noeviction', '--save', ''];
    const args = [
      '--port', String(port),
      '--bind', host,
      '--dir', dir,
      ...persistence,
      '--daemonize', 'no',
      '--logfile', '',
      ...(options.args ?? []),
    ];
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      // Only the tail matters for an error message; a long-running server must not grow this forever.
      output = (output + chunk.toString()).slice(-4_000);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    child = started;
    liveServers.add(started);
    started.once('exit', () => liveServers.delete(started));
    try {
      await waitForPing(host, port, started, timeoutMs, () => output);
    } catch (error) {
      await killAndWait(started, 'SIGKILL');
      throw error;
    }
  };

  // A free port can be taken between probing and binding; a couple of attempts make that harmless.
  for (let attempt = 1; ; attempt++) {
    port = await freePort(host);
    try {
      await launch();
      break;
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const requireRunning = (what: string): void => {
    if (stopped) throw new Error(`cannot ${what}: this Redis handle was stopped`);
  };

  return {
    mode: 'private',
    url: `redis://${host}:${port}`,
    host,
    port,
    prefix,
    keyPrefix: `${prefix}:`,
    dir,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    client(clientOptions: RedisOptions = {}) {
      requireRunning('create a client');
      const client = new Redis({ host, port, lazyConnect: false, ...clientOptions });
      clients.add(client);
      return client;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      requireRunning('kill the server');
      if (child) await killAndWait(child, signal);
    },
    async restart() {
      requireRunning('restart the server');
      if (child) await killAndWait(child, 'SIGTERM');
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      disconnectAll(clients);
      // SIGTERM: redis-server shuts down cleanly (fsyncs the AOF) and releases the port.
      if (child) await killAndWait(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every private server still running, so a crashing test run does not leave orphans behind. */
const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const server of liveServers) server.kill('SIGKILL');
});

function killAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Asks the OS for a free port by binding port 0, then releases it for redis-server. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls with a raw RESP `PING` until the server answers `+PONG`. A raw socket rather than ioredis
 * keeps start-up free of client retry policies, and stops at once if the process exits.
 */
async function waitForPing(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during start-up (port ${port}):\n${output()}`);
    }
    if (await pingOnce(host, port)) return;
    if (Date.now() > deadline) {
      throw new Error(`redis-server did not answer PING on ${host}:${port} within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function pingOnce(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
  });
}

// ── external mode ────────────────────────────────────────────────────────────────────────────

/**
 * Whether the shared server runs AOF; without it (and without `GOVERNOR_ALLOW_DATA_LOSS=1`) every
 * node a test starts would refuse it, so this fails first, with the fix.
 */
async function externalAof(url: string): Promise<void> {
  if (process.env['GOVERNOR_ALLOW_DATA_LOSS'] === '1') return;
  const probe = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
  let appendonly: string | undefined;
  try {
    const info = await probe.info('persistence');
    appendonly = /^aof_enabled:(\d)/m.exec(info)?.[1];
  } finally {
    probe.disconnect();
  }
  if (appendonly === '0') {
    throw new Error(
      `the Redis at REDIS_URL (${url}) has no AOF, and Governor nodes refuse to start on it: turn AOF on ` +
        '(`redis-cli CONFIG SET appendonly yes`), or run the tests with GOVERNOR_ALLOW_DATA_LOSS=1, or unset REDIS_URL',
    );
  }
}

function externalHandle(url: string): RedisHandle {
  const parsed = new URL(url);
  const host = parsed.hostname || '127.0.0.1';
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const prefix = uniquePrefix();
  const clients = new Set<Redis>();
  let stopped = false;
  const refuse = (what: string): never => {
    throw new Error(
      `cannot ${what} a shared Redis from REDIS_URL: ask for a private server with startRedis({ mode: 'private' })`,
    );
  };
  return {
    mode: 'external',
    url,
    host,
    port,
    prefix,
    keyPrefix: `${prefix}:`,
    dir: undefined,
    pid: undefined,
    client(clientOptions: RedisOptions = {}) {
      if (stopped) throw new Error('cannot create a client: this Redis handle was stopped');
      const client = new Redis(url, clientOptions);
      clients.add(client);
      return client;
    },
    kill: async () => refuse('kill'),
    restart: async () => refuse('restart'),
    async stop() {
      if (stopped) return;
      stopped = true;
      disconnectAll(clients);
      const cleaner = new Redis(url, { maxRetriesPerRequest: 3 });
      try {
        await deleteKeysUnder(cleaner, prefix);
      } finally {
        cleaner.disconnect();
      }
    },
  };
}

/** SCAN + UNLINK of `prefix*` only: the prefix is random, so this never touches other keys. */
async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

// ── shared ───────────────────────────────────────────────────────────────────────────────────

function disconnectAll(clients: Set<Redis>): void {
  for (const client of clients) client.disconnect();
  clients.clear();
}

/** Letters and digits only, so it is safe inside a SCAN pattern and a BullMQ prefix. */
function uniquePrefix(): string {
  return `gtest-${randomBytes(6).toString('hex')}`;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
