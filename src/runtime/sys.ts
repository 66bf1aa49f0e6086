import { NoProcError } from './errors.ts';
import type { Node } from './node.ts';
import type { Pid } from './pid.ts';
import type { ProcessKind, ProcessRecord } from './process-record.ts';
import { StatemProcess } from './statem.ts';
import { SupervisorProcess } from './supervisor/supervisor.ts';
import type { PersistedTimer } from './persisted-state.ts';
import type { TraceEntry } from './trace.ts';
import { applyStateChange, parseStateChange, StateChangeError } from './state-change.ts';

/** `sys:statistics`. */
export interface ProcessStatistics {
  messagesIn: number;
  messagesOut: number;
  mailboxLength: number;
  restarts: number;
  /** Events dropped by the `unhandled: 'drop'` policy (0 for other processes). */
  unhandled: number;
}

/** `sys:get_status`: everything the REPL shows about one process. */
export interface ProcessStatus {
  pid: Pid;
  kind: ProcessKind;
  name: string | undefined;
  status: 'running' | 'suspended' | 'busy';
  parent: Pid | undefined;
  state: unknown;
  stateValue: unknown;
  trapExit: boolean;
  links: Pid[];
  monitoredBy: number;
  timers: PersistedTimer[];
  postponed: number;
  statistics: ProcessStatistics;
}

/** A node of {@link tree}: a supervisor with its children, or a worker with its state value. */
export interface TreeNode {
  id: string;
  pid: Pid | 'restarting' | undefined;
  kind: ProcessKind | 'not_running';
  name: string | undefined;
  stateValue: unknown;
  children?: TreeNode[];
}

function processOf(node: Node, pid: Pid): ProcessRecord {
  const process = node.processOf(pid) ?? node.processOf(node.whereis(pid) as Pid);
  if (!process) throw new NoProcError(pid);
  return process;
}

/** `sys:get_state`: a gen_statem actor's `{ value, context }`, a supervisor's children. */
export function getState(node: Node, pid: Pid): unknown {
  return processOf(node, pid).getState();
}

export function statistics(node: Node, pid: Pid): ProcessStatistics {
  const process = processOf(node, pid);
  return {
    messagesIn: process.messagesIn,
    messagesOut: process.messagesOut,
    mailboxLength: process.mailbox.length,
    restarts: process.restarts,
    unhandled: process instanceof StatemProcess ? process.unhandledDropped : 0,
  };
}

export function getStatus(node: Node, pid: Pid): ProcessStatus {
  const process = processOf(node, pid);
  const statem = process instanceof StatemProcess ? process : undefined;
  return {
    pid: process.pid,
    kind: process.kind,
    name: process.name,
    status: process.suspended ? 'suspended' : process.busy ? 'busy' : 'running',
    parent: process.parent,
    state: process.getState(),
    stateValue: process.stateValue(),
    trapExit: process.trapExit,
    links: [...(process.links ?? [])],
    monitoredBy: process.monitoredBy?.size ?? 0,
    timers: statem?.timers() ?? [],
    postponed: statem?.postponedEvents().length ?? 0,
    statistics: statistics(node, process.pid),
  };
}

/**
 * `sys:replace_state` for a gen_statem actor: `fn` gets `{ value, context }` and returns the new
 * ones (either may be left out). A state change re-arms state timeouts and replays postponed
 * events, as a transition would. In-process code only: the admin REPL and the admin protocol
 * take the declarative {@link changeState}, so nothing an admin sends runs as code.
 */
export function replaceState(
  node: Node,
  pid: Pid,
  fn: (state: { value: unknown; context: unknown }) => { value?: unknown; context?: unknown },
): { value: unknown; context: unknown } {
  const process = statemOf(node, pid);
  node.run(() => process.replaceState(fn(process.getState())));
  return process.getState();
}

/**
 * `sys:replace_state` with a declarative change ({@link StateChange}): a JSON Patch on the
 * context and/or a new state value, checked in full before anything is applied (the patch well
 * formed, its paths there, its `test`s passing, the result JSON data within limits, the value one
 * the machine has). Refused changes throw and leave the actor as it was.
 *
 * @example
 * sys.changeState(node, pid, { patch: [{ op: 'replace', path: '/data/balance', value: '0' }] });
 * sys.changeState(node, pid, { value: 'Active' });
 */
export function changeState(node: Node, pid: Pid, change: unknown): { value: unknown; context: unknown } {
  const parsed = parseStateChange(change);
  const process = statemOf(node, pid);
  const next = applyStateChange(process.getState(), parsed);
  // Stryker disable next-line ConditionalExpression: a patch alone keeps the current state value, which the machine has: checking it too changes nothing
  if (parsed.value !== undefined) {
    // Asked of the machine before anything changes: resolveState throws on a value it does not have.
    try {
      process.machine.resolveState({ value: next.value as never, context: next.context as never });
    } catch (error) {
      throw new StateChangeError('STATE_VALUE_UNKNOWN', `${process.machine.id} has no state ${JSON.stringify(parsed.value)}: ${(error as Error).message}`, { cause: error });
    }
  }
  node.run(() => process.replaceState(next));
  return process.getState();
}

function statemOf(node: Node, pid: Pid): StatemProcess {
  const process = processOf(node, pid);
  if (!(process instanceof StatemProcess)) {
    throw new TypeError(`replace_state works on gen_statem actors; ${pid} is a ${process.kind}`);
  }
  return process;
}

/** `sys:suspend`: the process keeps receiving but handles nothing until {@link resume}. */
export function suspend(node: Node, pid: Pid): void {
  processOf(node, pid).suspended = true;
}

export function resume(node: Node, pid: Pid): void {
  const process = processOf(node, pid);
  process.suspended = false;
  node.run(() => {
    process.onResume();
    node._schedule(process);
  });
}

/** `sys:trace`: calls `tracer` with every event in, message out, transition and exit; `false` stops. */
export function trace(node: Node, pid: Pid, tracer: ((entry: TraceEntry) => void) | false): void {
  processOf(node, pid).tracer = tracer === false ? undefined : tracer;
}

/** Walks the supervision tree from `root`: every supervisor and child with its state value. */
export function tree(node: Node, root: Pid): TreeNode {
  const process = processOf(node, root);
  return describe(node, process.name ?? process.pid, process.pid);
}

function describe(node: Node, id: string, pid: Pid | 'restarting' | undefined): TreeNode {
  // `undefined` (not running) and 'restarting' are in no process table.
  const process = node.processOf(pid as Pid);
  if (!process) return { id, pid, kind: 'not_running', name: undefined, stateValue: undefined };
  const entry: TreeNode = { id, pid: process.pid, kind: process.kind, name: process.name, stateValue: process.stateValue() };
  if (process instanceof SupervisorProcess) {
    entry.children = process.whichChildren().map((child) => describe(node, child.id, child.pid));
  }
  return entry;
}
