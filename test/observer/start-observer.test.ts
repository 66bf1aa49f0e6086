/**
 * `governor start --embedded --observer 0`: the embedded node keeps its REPL on stdin/stdout and
 * serves the observer beside it, printing the URL on stderr; ending the REPL stops both.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GOVERNOR_COMMAND } from '../cli/governor-command.ts';

describe('governor start --observer', () => {
  it('serves the observer of the embedded node beside its REPL, and stops with it', async () => {
    const node = spawn(process.execPath, [...GOVERNOR_COMMAND, 'start', '--embedded', '--observer', '0'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GOVERNOR_ADMIN_TOKEN: '' } });
    let stderr = '';
    let stdout = '';
    node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    node.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => node.once('exit', resolve));
    try {
      await expect.poll(() => /observer on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1], { timeout: 60_000 }).toBeDefined();
      const url = /observer on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)![1]!;
      const overview = (await (await fetch(`${url}api/overview`)).json()) as { title: string; queues: boolean };
      expect(overview).toMatchObject({ title: 'embedded node "embedded"', queues: false });
      await expect.poll(() => stdout, { timeout: 60_000 }).toContain('Type help() for commands');
    } finally {
      node.stdin!.end(); // the REPL ends, then the node and its observer
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
