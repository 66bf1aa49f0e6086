import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One command as Redis' MONITOR shows it: who sent it (`lua` for a script's call) and its words. */
export interface MonitoredCommand {
  readonly source: string;
  readonly args: readonly string[];
}

/** The quoted words of a MONITOR line, unescaped (redis-cli quotes each with C-style escapes). */
function wordsOf(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([, word]) =>
    word!.replace(/\\x([0-9a-f]{2})|\\(.)/gi, (_, hex: string | undefined, char: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : char === 'n' ? '\n' : char === 'r' ? '\r' : char === 't' ? '\t' : char)),
  );
}

/**
 * Watches a Redis with `redis-cli monitor` (a process of its own: ioredis' monitor mode can fail with
 * "Command queue state error" when its OK and the first lines arrive together under load). Resolves
 * once Redis has confirmed the MONITOR; `stop()` ends it.
 */
export async function monitorRedis(url: string, onCommand: (command: MonitoredCommand) => void): Promise<{ stop(): void }> {
  const child = spawn('redis-cli', ['-u', url, 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-cli monitor exited ${code}`)));
    lines.on('line', (line) => {
      if (line === 'OK') return resolve();
      const source = /^\d+\.\d+ \[\d+ ([^\]]+)\]/.exec(line)?.[1];
      if (source !== undefined) onCommand({ source, args: wordsOf(line) });
    });
  });
  child.removeAllListeners('exit');
  return { stop: () => child.kill() };
}
