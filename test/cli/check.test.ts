import { describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';

const BROKEN = 'test/fixtures/broken-machine.ts';

/** The words of the printed replay command, without the leading `governor` (no quoting needed here). */
function replayArgs(stdout: string): string[] {
  const line = /^ {2}replay: (.+)$/m.exec(stdout)?.[1];
  expect(line, stdout).toBeDefined();
  const words = line!.split(' ');
  expect(words[0]).toBe('governor');
  return words.slice(1);
}

describe('governor check', () => {
  it('runs the property of the orchestrator and the governors: --runs 50 --seed 1 passes, with progress', () => {
    const run = governor(['check', '--runs', '50', '--seed', '1']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('50 runs, seed 1');
    expect(run.stdout).toContain('run 50/50');
    expect(run.stdout).toContain('ok: 50 runs passed (seed 1)');
  });

  it('fails a broken machine with exit 1, the seed, the shrunk counterexample and a replay command that fails the same way', () => {
    const run = governor(['check', '--machine', BROKEN, '--seed', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('seed: 1');
    expect(run.stdout).toContain('counterexample (shrunk): [{"type":"push"},{"type":"push"},{"type":"push"},{"type":"push"}]');
    expect(run.stdout).toContain('size 4 is outside 0..3');
    expect(run.stderr).not.toContain('    at ');
    const args = replayArgs(run.stdout);
    expect(args).toEqual(expect.arrayContaining(['--seed', '1', '--machine', BROKEN, '--path']));

    const replay = governor(args);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('FAILED after 1 run(s)');
    expect(replay.stdout).toContain('counterexample (shrunk): [{"type":"push"},{"type":"push"},{"type":"push"},{"type":"push"}]');
    expect(replay.stdout).toContain('error: after event 4 {"type":"push"}: state "open": size 4 is outside 0..3');
  });

  it('--json prints one JSON object, no progress: ok with runs and seed, or the failure with a replay that fails the same way', () => {
    const passed = governor(['check', '--runs', '3', '--seed', '1', '--json']);
    expect(passed.code, passed.stderr).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ ok: true, runs: 3, seed: 1 });
    const broken = governor(['check', '--machine', BROKEN, '--seed', '1', '--json']);
    expect(broken.code, broken.stderr).toBe(1);
    const failure = JSON.parse(broken.stdout) as { ok: boolean; seed: number; counterexample: unknown; error: string; replay: string };
    expect(failure).toMatchObject({ ok: false, seed: 1, counterexample: Array.from({ length: 4 }, () => ({ type: 'push' })) });
    expect(failure.error).toContain('size 4 is outside 0..3');
    const replay = governor([...failure.replay.split(' ').slice(1), '--json']);
    expect(replay.code).toBe(1);
    expect(JSON.parse(replay.stdout)).toMatchObject({ ok: false, runs: 1, counterexample: failure.counterexample });
  });

  it('the default run finds an off-by-one a short run misses (seed 10: first failing run 125) and prints the smallest sequence', () => {
    const run = governor(['check', '--machine', BROKEN, '--seed', '10']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('1000 runs, seed 10');
    expect(run.stdout).toContain('FAILED after 125 run(s)');
    const shown = /counterexample \(shrunk\): (.*)$/m.exec(run.stdout)![1]!;
    expect(JSON.parse(shown)).toEqual(Array.from({ length: 4 }, () => ({ type: 'push' })));
    expect(run.stdout).toContain('error: after event 4 {"type":"push"}: state "open": size 4 is outside 0..3');
  });

  it.each([
    [['--transport', 'bullmq', '--machine', BROKEN], 'runs the marketplace property'],
    [['--transport', 'carrier-pigeon'], 'is not a transport'],
    [['--machine', 'test/fixtures/no-such-machine.ts'], 'no such file'],
    [['--machine', 'package.json'], 'must export `machine`'],
    [['--machine', 'test/fixtures/machines.ts'], 'must export `machine`'],
    [['--runs', 'many'], 'not an integer'],
    [['--runs', '0'], 'outside'],
    [['--seed', '1', '--path', 'not a path'], 'not a fast-check path'],
    [['--path', '1:2'], 'needs the --seed'],
  ])('refuses %j with exit 2 and one line', (args, message) => {
    const run = governor(['check', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('--transport bullmq without a Redis URL exits 2 with the fix', () => {
    const run = governor(['check', '--transport', 'bullmq'], { env: { REDIS_URL: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('REDIS_URL');
    expect(run.stdout).toBe('');
  });

  it('--help documents the options, the transports and the exit codes', () => {
    const run = governor(['check', '--help']);
    expect(run.code).toBe(0);
    for (const flag of ['--runs', '--seed', '--path', '--machine', '--transport', '--redis', 'bullmq', '3 Redis unreachable']) expect(run.stdout).toContain(flag);
  });
});
