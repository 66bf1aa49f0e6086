import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GOVERNOR_COMMAND } from './governor-command.ts';

const TRACE = fileURLToPath(new URL('../support/module-trace/register.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'governor-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules the real `governor` command loads for these arguments (its exit code beside them). */
function modulesLoadedBy(args: string[]): { code: number | null; stdout: string; modules: string[] } {
  const file = join(dir, `${args.join('_').replace(/\W/g, '')}.txt`);
  const [tsx, tsxUrl, bin] = GOVERNOR_COMMAND;
  const result = spawnSync(process.execPath, [tsx!, tsxUrl!, '--import', TRACE, bin!, ...args], {
    env: { ...process.env, MODULE_TRACE_FILE: file },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const modules = readFileSync(file, 'utf8').split('\n').filter((url) => url.startsWith('file:'));
  return { code: result.status, stdout: result.stdout, modules };
}

/** What a command that only prints help or a version must not load: the runtime, Redis clients, the properties. */
const HEAVY = [/\/node_modules\/(xstate|bullmq|ioredis|pino|fast-check|zod|prom-client)\//, /\/src\/runtime\/node\.ts$/, /\/machines\//, /\/supervisors\//];
const heavyAmong = (modules: string[]) => modules.filter((url) => HEAVY.some((pattern) => pattern.test(url)));

describe('the governor command starts light', () => {
  it.each(['--help', '--version', 'start --help', 'check --help', 'audit verify --help', 'demo --help', 'machines --help'])('`governor %s` loads no runtime, Redis client nor property library', (line) => {
    const run = modulesLoadedBy(line.split(' '));
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(0);
    // The trace itself is seen to work: the command's own entry file is among the loaded modules.
    expect(run.modules.some((url) => url.endsWith('/src/cli/bin.ts'))).toBe(true);
    expect(heavyAmong(run.modules)).toEqual([]);
  });

  it('a command that does its work still loads what it needs (the trace sees lazy imports)', () => {
    const run = modulesLoadedBy(['schema']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('$schema');
    expect(run.modules.some((url) => /\/node_modules\/zod\//.test(url))).toBe(true);
  });
});
