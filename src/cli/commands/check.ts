import fc from 'fast-check';
import type { Command } from 'commander';
import { DEFAULT_RUNS, marketplaceProperty } from '../check/marketplace.ts';
import { loadMachineModule, machineProperty } from '../check/machine.ts';
import { CliError, EXIT } from '../exit-codes.ts';

interface CheckFlags {
  runs?: string;
  seed?: string;
  path?: string;
  replayPath?: string;
  machine?: string;
  transport: string;
}

const MAX_RUNS = 1_000_000;

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^-?\d{1,10}$/.test(text)) throw new CliError(`${flag}: "${text}" is not an integer`);
  const value = Number(text);
  if (value < min || value > max) throw new CliError(`${flag}: ${value} is outside ${min}..${max}`);
  return value;
}

/** A shell word, quoted only when it needs to be. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/** Runs a property with progress lines; on failure prints the seed, the counterexample and the replay command. */
async function runCheck(flags: CheckFlags, print: (line: string) => void): Promise<number> {
  if (flags.transport === 'bullmq') {
    throw new CliError('--transport bullmq: not available yet; property runs use the memory transport (the default)');
  }
  if (flags.transport !== 'memory') throw new CliError(`--transport: "${flags.transport}" is not a transport (memory, or bullmq once available)`);
  if (flags.path !== undefined && !/^\d{1,9}(:\d{1,9}){0,10000}$/.test(flags.path)) throw new CliError(`--path: "${flags.path.slice(0, 80)}" is not a fast-check path (numbers separated by colons)`);
  if (flags.replayPath !== undefined && (flags.machine !== undefined || !/^[\w+/=:-]{1,100000}$/.test(flags.replayPath))) {
    throw new CliError('--replay-path: a fast-check replay path of the marketplace commands, as printed by a failed run');
  }
  if (flags.path !== undefined && flags.seed === undefined) throw new CliError('--path needs the --seed it was printed with');

  const mod = flags.machine !== undefined ? await loadMachineModule(flags.machine) : undefined;
  const numRuns = flags.runs !== undefined ? integer('--runs', flags.runs, 1, MAX_RUNS) : (mod?.runs ?? (mod ? 100 : DEFAULT_RUNS));
  const seed = flags.seed !== undefined ? integer('--seed', flags.seed, -0x80000000, 0xffffffff) : (Date.now() ^ Math.floor(Math.random() * 0x100000000)) >>> 0;
  const subject = mod ? `machine ${flags.machine} (pure transitions)` : 'the orchestrator and the governors against the reference model (memory transport)';

  let executions = 0;
  const every = Math.max(1, Math.floor(numRuns / 10));
  const onRun = () => {
    executions += 1;
    if (flags.path !== undefined) return;
    if (executions <= numRuns && (executions % every === 0 || executions === numRuns)) print(`  run ${executions}/${numRuns}`);
  };
  print(`check: ${subject}; ${flags.path !== undefined ? `replaying path ${flags.path}` : `${numRuns} runs`}, seed ${seed}`);

  const parameters = { numRuns, seed, ...(flags.path !== undefined ? { path: flags.path } : {}) };
  const details = mod
    ? fc.check(machineProperty(mod, onRun), parameters)
    : await fc.check(marketplaceProperty({ ...(flags.replayPath !== undefined ? { replayPath: flags.replayPath } : {}), onRun }), parameters);

  if (!details.failed) {
    print(`ok: ${details.numRuns} runs passed (seed ${seed})`);
    return EXIT.ok;
  }
  if (details.counterexample === null) {
    // Not a property failure: the run itself broke (an exception outside the predicate).
    throw new CliError(`the property could not run: ${firstLine(details.errorInstance)}`, EXIT.internal);
  }
  const [value] = details.counterexample as [unknown];
  let shown = Array.isArray(value) ? JSON.stringify(value) : String(value);
  const replayPath = /\/\*replayPath="([^"]*)"\*\//.exec(shown)?.[1];
  shown = shown.replace(/\s*\/\*replayPath="[^"]*"\*\//, '');
  const replay = ['governor', 'check', '--seed', String(details.seed), '--path', details.counterexamplePath ?? ''];
  if (flags.machine !== undefined) replay.push('--machine', flags.machine);
  if (replayPath) replay.push('--replay-path', replayPath);

  print(`FAILED after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s)`);
  print(`  seed: ${details.seed}`);
  print(`  path: ${details.counterexamplePath ?? ''}`);
  print(`  counterexample (shrunk): ${shown}`);
  print(`  error: ${firstLine(details.errorInstance)}`);
  print(`  replay: ${replay.map(shellWord).join(' ')}`);
  return EXIT.failed;
}

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description(
      'property-based runs: the orchestrator and the governors against the reference model, or one machine of yours (--machine); ' +
        'on failure prints the seed, the shrunk counterexample and the command that replays it (exit 1)',
    )
    .option('--runs <n>', `number of runs (default ${DEFAULT_RUNS}; 100 with --machine, or the module's \`runs\`)`)
    .option('--seed <s>', 'fast-check seed (default: random, printed)')
    .option('--path <p>', 'replay this counterexample path (printed by a failed run; needs --seed)')
    .option('--replay-path <r>', "fast-check's replayPath of the marketplace commands (printed by a failed run)")
    .option(
      '--machine <module>',
      'a module exporting { machine, events, invariants }: machine an XState v5 machine, events a fast-check arbitrary of event arrays ' +
        '(or of fc.commands), invariants(snapshot) throwing when one is broken; stepped with pure transitions',
    )
    .option('--transport <t>', 'memory (the only one for now; bullmq answers "not available yet", exit 2)', 'memory')
    .addHelpText('after', '\n--transport bullmq is not available yet (exit 2).\nExit codes: 0 every run passed; 1 a property failed (the output says how to replay it); 2 bad usage or module.')
    .action(async (flags: CheckFlags) => {
      process.exitCode = await runCheck(flags, (line) => process.stdout.write(`${line}\n`));
    });
}
