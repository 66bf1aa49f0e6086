import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/governor.js', import.meta.url));

/** Runs the real `governor` binary as a subprocess, as a user would. */
export function governor(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
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
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const node = spawn(process.execPath, [BIN, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    node.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('is running')) resolve(node);
    });
    node.once('exit', (code) => reject(new Error(`governor start exited ${code}`)));
  });
}
