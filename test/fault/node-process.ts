import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A node started as a real process (`node --import tsx <fixture>`), for fault tests. */
export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** What it wrote to stderr (its warnings and errors), for a failing test's message. */
  readonly log: () => string;
  /** Sends a signal and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `test/fixtures/<script>` with `env` and resolves once it printed `ready`. */
export async function startNodeProcess(script: string, name: string, env: Record<string, string>, timeoutMs = 20_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', `test/fixtures/${script}`], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${name} not ready within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(`ready ${name}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited before it was ready (${code ?? signal}):\n${stderr}`));
    });
  });
  return {
    name,
    child,
    log: () => stderr,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
