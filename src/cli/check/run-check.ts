/** The work of `governor check` (its definition is in commands/check.ts). */
import fc from 'fast-check';
import { DEFAULT_RUNS, marketplaceProperty, type TargetFactory } from './marketplace.ts';
import { DEFAULT_MACHINE_RUNS, loadMachineModule, machineProperty, minimalSequence } from './machine.ts';
import { CliError, EXIT } from '../exit-codes.ts';

export interface CheckFlags {
  runs?: string;
  seed?: string;
  path?: string;
  replayPath?: string;
  machine?: string;
  transport: string;
  redis?: string;
  json?: boolean;
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

/**
 * Runs a property with progress lines; on failure prints the seed, the counterexample and the
 * replay command. With `--json`, no progress: one JSON object at the end, with the same facts.
 */
export async function runCheck(flags: CheckFlags, out: (line: string) => void): Promise<number> {
  const json = flags.json === true;
  const print = json ? () => undefined : out;
  const report = (result: Record<string, unknown>) => {
    if (json) out(JSON.stringify(result, null, 2));
  };
  if (flags.transport !== 'memory' && flags.transport !== 'bullmq') throw new CliError(`--transport: "${flags.transport}" is not a transport (memory or bullmq)`);
  if (flags.transport === 'bullmq' && flags.machine !== undefined) throw new CliError('--transport bullmq runs the marketplace property; --machine steps your machine with pure transitions, on no transport');
  if (flags.path !== undefined && !/^\d{1,9}(:\d{1,9}){0,10000}$/.test(flags.path)) throw new CliError(`--path: "${flags.path.slice(0, 80)}" is not a fast-check path (numbers separated by colons)`);
  if (flags.replayPath !== undefined && (flags.machine !== undefined || !/^[\w+/=:-]{1,100000}$/.test(flags.replayPath))) {
    throw new CliError('--replay-path: a fast-check replay path of the marketplace commands, as printed by a failed run');
  }
  if (flags.path !== undefined && flags.seed === undefined) throw new CliError('--path needs the --seed it was printed with');

  const mod = flags.machine !== undefined ? await loadMachineModule(flags.machine) : undefined;
  const target = flags.transport === 'bullmq' ? await bullmqTargets(flags) : undefined;
  const numRuns = flags.runs !== undefined ? integer('--runs', flags.runs, 1, MAX_RUNS) : (mod?.runs ?? (mod ? DEFAULT_MACHINE_RUNS : DEFAULT_RUNS));
  const seed = flags.seed !== undefined ? integer('--seed', flags.seed, -0x80000000, 0xffffffff) : (Date.now() ^ Math.floor(Math.random() * 0x100000000)) >>> 0;
  const subject = mod ? `machine ${flags.machine} (pure transitions)` : `the orchestrator and the governors against the reference model (${flags.transport} transport)`;

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
    : await fc.check(marketplaceProperty({ ...(flags.replayPath !== undefined ? { replayPath: flags.replayPath } : {}), ...(target ? { target } : {}), onRun }), parameters);

  if (!details.failed) {
    print(`ok: ${details.numRuns} runs passed (seed ${seed})`);
    report({ ok: true, subject, runs: details.numRuns, seed });
    return EXIT.ok;
  }
  if (details.counterexample === null) {
    // Not a property failure: the run itself broke (an exception outside the predicate).
    throw new CliError(`the property could not run: ${firstLine(details.errorInstance)}`, EXIT.internal);
  }
  const [value] = details.counterexample as [unknown];
  // An event array: reduced to the events the failure needs (deterministic, so the replay prints the same).
  const minimal = mod && Array.isArray(value) ? minimalSequence(mod, value) : undefined;
  let shown = minimal ? JSON.stringify(minimal.events) : Array.isArray(value) ? JSON.stringify(value) : String(value);
  const replayPath = /\/\*replayPath="([^"]*)"\*\//.exec(shown)?.[1];
  shown = shown.replace(/\s*\/\*replayPath="[^"]*"\*\//, '');
  const replay = ['governor', 'check', '--seed', String(details.seed), '--path', details.counterexamplePath ?? ''];
  if (flags.machine !== undefined) replay.push('--machine', flags.machine);
  if (flags.transport === 'bullmq') replay.push('--transport', 'bullmq');
  if (replayPath) replay.push('--replay-path', replayPath);

  print(`FAILED after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s)`);
  print(`  seed: ${details.seed}`);
  print(`  path: ${details.counterexamplePath ?? ''}`);
  print(`  counterexample (shrunk): ${shown}`);
  print(`  error: ${minimal ? minimal.error : firstLine(details.errorInstance)}`);
  print(`  replay: ${replay.map(shellWord).join(' ')}`);
  report({
    ok: false,
    subject,
    runs: details.numRuns,
    shrinks: details.numShrinks,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    counterexample: minimal ? minimal.events : shown,
    error: minimal ? minimal.error : firstLine(details.errorInstance),
    replay: replay.map(shellWord).join(' '),
  });
  return EXIT.failed;
}

/**
 * Runs on the nodes' kind of Redis (`--redis` or REDIS_URL), checked reachable before anything
 * starts (exit 3 otherwise). Each run gets a key prefix of its own under a random one, and its
 * keys are deleted when it ends: nothing else on that Redis is read or touched.
 */
async function bullmqTargets(flags: CheckFlags): Promise<TargetFactory> {
  const { redisUrl, connectOrExit, FAIL_FAST_REDIS } = await import('../enqueue/redis.ts');
  const url = redisUrl(flags);
  const { createRedis, ready } = await import('../../transport/bullmq/connections.ts');
  const probe = createRedis(url, { ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  probe.on('error', () => undefined);
  try {
    await connectOrExit(url, () => ready(probe));
  } finally {
    probe.disconnect();
  }
  const { bullmqTarget } = await import('./bullmq-target.ts');
  const { randomBytes } = await import('node:crypto');
  const base = `{governor-check-${randomBytes(4).toString('hex')}}`;
  let run = 0;
  return (options) => bullmqTarget({ ...options, url, prefix: `${base}:r${++run}` });
}
