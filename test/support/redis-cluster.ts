/**
 * A real local Redis Cluster for one test file or bench: three masters (`redis-server
 * --cluster-enabled yes`, each on a free port in a temp dir of its own, with AOF as a node
 * requires), joined with `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, ready
 * once every master reports `cluster_state:ok`. Torn down by `stop()` (and killed on exit).
 *
 * @example
 *   const cluster = await startRedisCluster();
 *   await startBullmqNode({ url: cluster.url, prefix: cluster.prefix, ... });
 *   await cluster.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Cluster, Redis } from 'ioredis';

export interface RedisClusterHandle {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`: what nodes and the CLI take. */
  readonly url: string;
  /** A unique key prefix for this handle (letters and digits, no hash tag). */
  readonly prefix: string;
  /** The masters, in the order of their slot ranges (0–5460, 5461–10922, 10923–16383). */
  readonly masters: readonly { readonly host: string; readonly port: number; readonly pid: number | undefined }[];
  /** A cluster client, closed by `stop()`. */
  client(): Cluster;
  /** A plain connection to one master (per-shard INFO, e.g. CPU), closed by `stop()`. */
  master(index: number): Redis;
  /** Stops the servers and removes their dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** @default 3 */
  readonly masters?: number;
  /** @default 20_000 */
  readonly startTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const server of live) server.kill('SIGKILL');
});

/** @throws Error when `redis-server` or `redis-cli` is not on PATH, or the cluster does not form in time. */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const server = onPath('redis-server');
  const cli = onPath('redis-cli');
  if (!server || !cli) throw new Error('redis-server and redis-cli must be on PATH for a Redis Cluster: install them with `apt-get install redis-server`');
  const count = options.masters ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const clients: (Redis | Cluster)[] = [];
  const ports: number[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const client of clients) client.disconnect();
    await Promise.all(children.map((child) => killAndWait(child, 'SIGTERM')));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'governor-cluster-'));
      dirs.push(dir);
      const port = await clusterPort(ports);
      ports.push(port);
      const child = spawn(
        server,
        [
          '--port', String(port), '--bind', HOST, '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000',
          '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--save', '',
          '--daemonize', 'no', '--logfile', '',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      live.add(child);
      child.once('exit', () => live.delete(child));
    }
    for (const port of ports) await until(timeoutMs, async () => (await command(port, (r) => r.ping())) === 'PONG', `redis-server on port ${port} to answer PING`);
    const created = spawnSync(cli, ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: timeoutMs });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (exit ${created.status}):\n${created.stdout}\n${created.stderr}`);
    for (const port of ports) {
      await until(timeoutMs, async () => /cluster_state:ok/.test(String(await command(port, (r) => r.cluster('INFO')))), `the master on port ${port} to report cluster_state:ok`);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  // Ordered by slot range, so master(0) holds slot 0.
  const order = ((await command(ports[0]!, (r) => r.cluster('SLOTS'))) ?? []) as unknown as [number, number, [string, number]][];
  const byRange = [...order].sort((a, b) => a[0] - b[0]).map((range) => range[2][1]);
  const masters = byRange.map((port) => ({ host: HOST, port, pid: children[ports.indexOf(port)]?.pid }));
  return {
    url: `redis+cluster://${masters.map((m) => `${m.host}:${m.port}`).join(',')}`,
    prefix: `gc${randomBytes(4).toString('hex')}`,
    masters,
    client() {
      const client = new Cluster(masters.map(({ host, port }) => ({ host, port })));
      clients.push(client);
      return client;
    },
    master(index) {
      const m = masters[index];
      if (!m) throw new Error(`no master ${index}: the cluster has ${masters.length}`);
      const client = new Redis({ host: m.host, port: m.port });
      clients.push(client);
      return client;
    },
    stop,
  };
}

/** A free port whose cluster bus port (port + 10000) is a valid port too, not one already taken. */
async function clusterPort(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && !taken.includes(port) && (await isFree(port + 10_000))) return port;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

/** One command on a throwaway connection; `undefined` when the server does not answer. */
async function command<T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  const redis = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await run(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

async function until(timeoutMs: number, check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function killAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
