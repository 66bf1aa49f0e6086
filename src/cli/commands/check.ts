import type { Command } from 'commander';
import { DEFAULT_MACHINE_RUNS, DEFAULT_RUNS } from '../check/defaults.ts';
import type { CheckFlags } from '../check/run-check.ts';

// Definitions only: the properties (fast-check, the machines) are imported when the command runs.
export function checkCommand(program: Command): void {
  program
    .command('check')
    .description(
      'property-based runs: the orchestrator and the governors against the reference model, or one machine of yours (--machine); ' +
        'on failure prints the seed, the shrunk counterexample and the command that replays it (exit 1)',
    )
    .option('--runs <n>', `number of runs (default ${DEFAULT_RUNS}; ${DEFAULT_MACHINE_RUNS} with --machine, or the module's \`runs\`)`)
    .option('--seed <s>', 'fast-check seed (default: random, printed)')
    .option('--path <p>', 'replay this counterexample path (printed by a failed run; needs --seed)')
    .option('--replay-path <r>', "fast-check's replayPath of the marketplace commands (printed by a failed run)")
    .option(
      '--machine <module>',
      'a module exporting { machine, events, invariants }: machine an XState v5 machine, events a fast-check arbitrary of event arrays ' +
        '(or of fc.commands), invariants(snapshot) throwing when one is broken; stepped with pure transitions',
    )
    .option('--transport <t>', 'memory, or bullmq: every event a job on a node in this process, states read back from Redis (needs --redis or REDIS_URL)', 'memory')
    .option('--redis <url>', 'Redis for --transport bullmq (default: $REDIS_URL); each run uses keys of its own and deletes them')
    .option('--json', 'print one JSON object at the end (ok, runs, seed; on failure the counterexample and the replay command) instead of progress lines')
    .addHelpText(
      'after',
      '\n--transport bullmq is slower: give it fewer --runs (e.g. 10).\n' +
        'Exit codes: 0 every run passed; 1 a property failed (the output says how to replay it); 2 bad usage or module; 3 Redis unreachable (nothing was started).',
    )
    .action(async (flags: CheckFlags) => {
      const { runCheck } = await import('../check/run-check.ts');
      process.exitCode = await runCheck(flags, (line) => process.stdout.write(`${line}\n`));
    });
}
