/**
 * Issue 22 as a developer meets it: the README's development section says to run
 * `npm run mutate -- --mutate <one file of src/runtime/>` and read the score table. This runs that
 * command as written (the real StrykerJS with its vitest runner on this Node, the runtime's own
 * tests, a sandbox of its own so a developer's run is not disturbed) on a small kernel file, and
 * checks what the README promises: a table with the file's score, every mutant of it tested, and a
 * score at the bar.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sandbox = `.tmp/stryker-e2e-${process.pid}`;

afterAll(() => rm(new URL(`../../${sandbox}`, import.meta.url), { recursive: true, force: true }));

function npmRun(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The columns of the clear-text table's row for `file`: score, covered score, killed, timeout, survived, no coverage, errors. */
function scoreRow(output: string, file: string): number[] | undefined {
  const line = output.split('\n').find((row) => row.trim().startsWith(file));
  return line?.split('|').slice(1, 8).map((cell) => Number(cell.trim()));
}

it('`npm run mutate -- --mutate <file>` prints the file’s mutation score, at or above 90 %', { timeout: 20 * 60_000 }, async () => {
  const file = 'src/runtime/supervisor/restart-intensity.ts';
  const run = await npmRun(['mutate', '--', '--mutate', file, '--concurrency', '1', '--reporters', 'clear-text', '--tempDirName', sandbox]);
  expect(run.code, run.output).toBe(0);
  const row = scoreRow(run.output, 'restart-intensity.ts');
  expect(row, run.output).toBeDefined();
  const [score, , killed, timedOut, survived, noCoverage, errors] = row!;
  expect(killed! + timedOut!, run.output).toBeGreaterThan(0);
  expect(errors, run.output).toBe(0);
  expect(noCoverage, run.output).toBe(0);
  expect(score, run.output).toBeGreaterThanOrEqual(90);
  // The score is what the counts say: a table that printed 100 with survivors would be lying.
  expect(score).toBeCloseTo((100 * (killed! + timedOut!)) / (killed! + timedOut! + survived! + noCoverage!), 1);
});
