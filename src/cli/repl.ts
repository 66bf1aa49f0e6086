import { homedir } from 'node:os';
import { join } from 'node:path';
import repl from 'node:repl';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { inspect } from 'node:util';
import vm from 'node:vm';
import { GovernorError } from '../errors.ts';
import { formatTrace } from './format-trace.ts';
import type { Admin } from './admin.ts';
import { needsSignature } from './admin-protocol.ts';
import { isRedisUnavailable, redisUnavailableError } from './redis-deadline.ts';
import { awaitableChain, settleNested } from './awaitable-chain.ts';

/** One REPL command: what it is called, how to use it, and what it does. */
export interface Command {
  readonly usage: string;
  readonly help: string;
  readonly run: (...args: any[]) => unknown;
  /** It changes the system: over Redis it is signed, so it needs GOVERNOR_ADMIN_TOKEN. */
  readonly mutates?: boolean;
}

/**
 * The commands every admin REPL has, named as in OTP: the one table behind the embedded node's
 * REPL, `--shell` and `governor repl`, and behind help().
 */
export function adminCommands(admin: Admin, print: (line: string) => void): Record<string, Command> {
  const table: Record<string, Omit<Command, 'mutates'>> = {
    nodes: { usage: 'nodes()', help: 'the nodes: liveness, partitions held, placement, uptime', run: () => admin.nodes() },
    tree: { usage: 'tree(root?)', help: 'the supervision tree with every actor’s state value', run: (root?: unknown) => admin.tree(root) },
    which_children: { usage: 'which_children(sup)', help: 'a supervisor’s children', run: (s: unknown) => admin.which_children(s) },
    count_children: { usage: 'count_children(sup)', help: 'specs, active, supervisors, workers', run: (s: unknown) => admin.count_children(s) },
    get_state: {
      usage: 'get_state(ref)',
      help: 'an actor’s state value and context; an entity’s live where resident, else as committed (resident: false)',
      run: (r: unknown) => admin.get_state(r),
    },
    get_status: { usage: 'get_status(ref)', help: 'status, links, timers, statistics (an entity not in memory: as committed)', run: (r: unknown) => admin.get_status(r) },
    state: { usage: "state('Billing', customerId)", help: "get_state('Billing/<customerId>'): a customer’s actor state", run: (kind: unknown, key: unknown) => admin.get_state({ entity: kind, key }) },
    replace_state: {
      usage: 'replace_state(ref, { patch?, value? })',
      help: "change an actor’s state: patch, JSON Patch (RFC 6902) ops on its context, e.g. [{ op: 'replace', path: '/n', value: 1 }]; value, a state it has; data, never code",
      run: (r: unknown, change: unknown) => admin.replace_state(r, change),
    },
    suspend: { usage: 'suspend(ref)', help: 'stop handling messages (they queue)', run: (r: unknown) => admin.suspend(r) },
    resume: { usage: 'resume(ref)', help: 'handle queued messages again', run: (r: unknown) => admin.resume(r) },
    trace: {
      usage: "trace(ref, 'on' | 'off')",
      help: 'stream events in/out and transitions to the screen (not over Redis)',
      run: (r: unknown, on: boolean | 'on' | 'off' = 'on') => admin.trace(r, on, (entry) => print(formatTrace(entry))),
    },
    restart_child: { usage: 'restart_child(sup, id)', help: 'start a stopped child again', run: (s: unknown, id: string) => admin.restart_child(s, id) },
    terminate_child: { usage: 'terminate_child(sup, id)', help: 'stop a child (its spec stays)', run: (s: unknown, id: string) => admin.terminate_child(s, id) },
    send: { usage: 'send(ref, event)', help: 'cast an event to an actor', run: (r: unknown, e: unknown) => admin.send(r, e) },
    call: { usage: 'call(ref, event)', help: 'call an actor and show its reply', run: (r: unknown, e: unknown, t?: number) => admin.call(r, e, t) },
    stats: { usage: 'stats()', help: 'node and application statistics', run: () => admin.stats() },
    enqueue: {
      usage: "enqueue({ type: 'CustomerSubscribes', customerId, ... })",
      help: 'validate a lifecycle event as governor enqueue does and enqueue it; eventId and occurredAt filled in',
      run: (e: unknown) => admin.enqueue(e),
    },
    queues: { usage: 'queues()', help: 'depth (waiting + delayed), active and failed per partition queue and the DLQ', run: () => admin.queues() },
    dlq: { usage: 'dlq()', help: 'the dead letters, oldest first', run: () => admin.dlq() },
    dlq_replay: { usage: 'dlq_replay(id)', help: 'put a dead letter back into its queue, same message id', run: (id: string) => admin.dlq_replay(id) },
    audit_verify: {
      usage: 'audit_verify(customerId?)',
      help: "verify a customer's receipt chain; without one, every chain",
      run: (customerId?: string) => admin.audit_verify(customerId),
    },
    customer_export: {
      usage: "customer_export('c1')",
      help: 'GDPR export: every entity state of the customer, its receipt log from genesis, its dead letters',
      run: (customerId: unknown) => admin.customer_export(customerId as string),
    },
    customer_erase: {
      usage: "customer_erase('c1')",
      help: "GDPR erasure of the customer's personal data: an event with its own receipt, the log still verifies",
      run: (customerId: unknown) => admin.customer_erase(customerId as string),
    },
    clock: { usage: 'clock()', help: 'the node’s time and whether it is a test clock (GOVERNOR_TEST_CLOCK); over Redis, every live node’s', run: () => admin.clock() },
    // Only where a test clock can be: a node without one has no such commands.
    ...(admin.testClock !== false && {
      clock_advance: {
        usage: "clock_advance('14d')",
        help: 'TEST CLOCK ONLY: move time forward (ms, or a string in ms/s/m/h/d), firing every timer due; over Redis, on every live node',
        run: (duration: unknown) => admin.clock_advance(duration),
      },
      clock_set: {
        usage: "clock_set('2025-02-03T09:00:00Z')",
        help: 'TEST CLOCK ONLY: move time forward to an instant, firing every timer due; over Redis, on every live node',
        run: (instant: unknown) => admin.clock_set(instant),
      },
    }),
  };
  // Marked from the protocol's own list, so help() cannot say a command reads when the node wants it signed.
  return Object.fromEntries(Object.entries(table).map(([name, command]) => [name, { ...command, mutates: needsSignature(name) }]));
}

export interface ReplOptions {
  input?: Readable;
  output?: Writable;
  prompt?: string;
  /** Use node:repl even when the input is not a terminal (tests of the interactive REPL). */
  interactive?: boolean;
  /** Persist history here. @default ~/.governor_history */
  historyFile?: string | false;
}

function describeError(error: unknown): string {
  if (isRedisUnavailable(error)) return `error: ${redisUnavailableError(error as Error).message}`;
  if (error instanceof GovernorError) return `error ${error.code}: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

/**
 * Evaluates one line against the commands: a promise is awaited, an error becomes one line of
 * text. Nothing typed here can end the REPL or print a stack trace.
 */
export function createEvaluator(commands: Record<string, Command>, options: { timeoutMs?: number } = {}) {
  // A line that computes for longer than this is a mistake (an endless loop), not a command.
  const timeout = options.timeoutMs ?? 2_000;
  const context = vm.createContext({});
  // A command's promise can be read into before it settles: get_state('Billing/c1').context.data.
  for (const [name, command] of Object.entries(commands)) context[name] = (...args: unknown[]) => chainIfPromise(command.run(...args));
  context.help = () => helpText(commands);
  return async (line: string): Promise<{ ok: true; value: unknown } | { ok: false; error: string; cause: unknown }> => {
    try {
      const value = await settleNested(vm.runInContext(line, context, { filename: 'governor-repl', timeout }));
      return { ok: true, value };
    } catch (error) {
      // The error itself too, so `--eval` can tell Redis not answering (exit 3) from a refusal (exit 1).
      return { ok: false, error: describeError(error), cause: error };
    }
  };
}

function chainIfPromise(value: unknown): unknown {
  return typeof (value as { then?: unknown } | null)?.then === 'function' ? awaitableChain(Promise.resolve(value)) : value;
}

function helpText(commands: Record<string, Command>): string {
  const rows = Object.values(commands).map((c) => `  ${c.usage.padEnd(44)} ${c.help}${c.mutates === true ? ' (admin)' : ''}`);
  return [
    'Commands (refs are pids "<node.12>", names "entities", or entities "Billing/cust-1"):',
    ...rows,
    '  help()'.padEnd(46) + ' this list',
    '(admin): changes the system; governor repl signs it with GOVERNOR_ADMIN_TOKEN, without it only the others run',
  ].join('\n');
}

/** Renders a value the way the REPL shows it. */
export function show(value: unknown, colors = false): string {
  return typeof value === 'string' ? value : inspect(value, { depth: 8, colors, breakLength: 100 });
}

/**
 * Runs commands read line by line from a pipe (no terminal): each is finished and its result
 * printed before the next is read, so a script of commands runs in order and to the end.
 * Resolves with the number of commands that failed.
 */
export async function runScript(commands: Record<string, Command>, input: Readable, output: Writable, prompt = ''): Promise<number> {
  const evaluate = createEvaluator(commands);
  let failed = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    output.write(`${prompt}${line}\n`);
    const result = await evaluate(line);
    if (result.ok) {
      if (result.value !== undefined) output.write(`${show(result.value)}\n`);
    } else {
      failed++;
      output.write(`${result.error}\n`);
    }
  }
  return failed;
}

/**
 * Starts the interactive admin REPL (`node:repl`, with completion of command names and history).
 * Resolves when the session ends.
 */
export async function startRepl(commands: Record<string, Command>, options: ReplOptions = {}): Promise<void> {
  const output = options.output ?? process.stdout;
  const input = options.input ?? process.stdin;
  if ((input as { isTTY?: boolean }).isTTY !== true && options.interactive !== true) {
    await runScript(commands, input, output, options.prompt);
    return;
  }
  const evaluate = createEvaluator(commands);
  const colors = (output as { isTTY?: boolean }).isTTY === true;
  const server = repl.start({
    prompt: options.prompt ?? 'governor> ',
    input,
    output,
    terminal: colors,
    ignoreUndefined: true,
    completer: (line: string) => {
      const names = [...Object.keys(commands), 'help'].map((n) => `${n}(`);
      const word = line.split(/[^A-Za-z_]/).pop() ?? '';
      const hits = names.filter((n) => n.startsWith(word));
      return [hits.length ? hits : names, word];
    },
    eval: (line, _context, _file, callback) => {
      if (line.trim() === '') return callback(null, undefined);
      void evaluate(line).then((result) => {
        if (result.ok) callback(null, result.value);
        else {
          output.write(`${result.error}\n`);
          callback(null, undefined);
        }
      });
    },
    writer: (value: unknown) => show(value, colors),
  });
  const historyFile = options.historyFile ?? join(homedir(), '.governor_history');
  if (historyFile) server.setupHistory(historyFile, () => {});
  await new Promise<void>((resolve) => server.on('exit', () => resolve()));
}
