import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Node's arguments that run the `governor` command from the sources, as `npm run governor` does:
 * tests run on the sources, never on a dist/ that may be stale or absent. (`bin/governor.js`, the
 * installed command, runs the same file built; test/package/ proves that from outside.) tsx is
 * given by path, so a command started in another working directory still finds it.
 */
export const GOVERNOR_COMMAND: readonly string[] = [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url)),
];

/** Runs the real `governor` command as a subprocess, as a user would. */
export function governor(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [...GOVERNOR_COMMAND, ...args], {
    input: options.input,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The real `governor` binary without blocking the event loop: for a test whose own process must
 * keep working meanwhile (a node in the test process, reading Redis while the command runs, or
 * runs side by side). `onStderr` sees the stderr so far as it grows.
 */
export function governorAsync(
  args: string[],
  options: { env?: Record<string, string>; onStderr?: (text: string) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...GOVERNOR_COMMAND, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `governor start <args>` (a BullMQ node) and resolves once it says it is running. */
export function startGovernorNode(args: string[], env: Record<string, string> = {}): Promise<ChildProcess> {
  const node = spawn(process.execPath, [...GOVERNOR_COMMAND, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    node.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('is running')) resolve(node);
    });
    node.once('exit', (code) => reject(new Error(`governor start exited ${code}`)));
  });
}

/**
 * Starts `governor start <args> --metrics-port 0` (a BullMQ node) and resolves with the URL its
 * metrics are served on, once it says so; `stderr()` is its log so far (the last `keep` characters).
 */
export function startGovernorNodeWithMetrics(
  args: string[],
  env: Record<string, string> = {},
  options: { limitMs?: number; keep?: number } = {},
): Promise<{ node: ChildProcess; metricsUrl: string; stderr: () => string }> {
  const { limitMs = 90_000, keep = 200_000 } = options;
  const node = spawn(process.execPath, [...GOVERNOR_COMMAND, 'start', ...args, '--metrics-port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  node.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-keep)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no metrics URL within ${limitMs} ms:\n${log}`)), limitMs);
    node.stderr!.on('data', () => {
      const found = /metrics on (http:\/\/\S+\/metrics)/.exec(log);
      if (!found) return;
      clearTimeout(timer);
      resolve({ node, metricsUrl: found[1]!, stderr: () => log });
    });
    node.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`governor start exited (${code}):\n${log}`));
    });
  });
}
