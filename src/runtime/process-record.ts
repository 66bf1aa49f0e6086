import type { Address, CallerRef, Envelope } from './envelope.ts';
import type { ExitReason } from './exit-reason.ts';
import type { Pid } from './pid.ts';
import type { PidSet } from './pid-set.ts';
import type { Queue } from './queue.ts';
import type { TraceEntry } from './trace.ts';

/** What a process is, for introspection: gen_statem actor, supervisor, or something of your own. */
export type ProcessKind = 'statem' | 'supervisor' | (string & {});

/**
 * What the node knows of a process: the entry of its process table. The node is the bottom layer
 * (as in OTP, it knows pids, mailboxes, links and monitors, not behaviours), so it sees a process
 * only through this record; `Process` (process.ts) implements it and the behaviours (gen_statem,
 * supervisor) build on that. Declared here, below the node, so that neither imports the other in
 * a circle.
 */
export interface ProcessRecord {
  readonly kind: ProcessKind;
  readonly pid: Pid;
  alive: boolean;
  /** `sys:suspend`: messages queue up but are not handled until resumed. */
  suspended: boolean;
  /** Handling a message asynchronously (a supervisor waiting for a child to shut down). */
  busy: boolean;
  /** In the node's run queue. */
  scheduled: boolean;
  trapExit: boolean;
  name: string | undefined;
  /** The process that started this one linked (its supervisor); its exit signal always ends this one. */
  parent: Pid | undefined;
  readonly mailbox: Queue<Envelope>;
  links: PidSet | undefined;
  /** Monitors others hold on this process: ref → watcher. */
  monitoredBy: Map<string, Pid | CallerRef> | undefined;
  /** Monitors this process holds on others: ref → target, removed when it dies. */
  monitoring: Map<string, Pid> | undefined;
  /** Monitors this process holds on remote names (`{name, node}`, no pid known here): ref → address. */
  monitoringNames: Map<string, Address> | undefined;
  messagesIn: number;
  messagesOut: number;
  /** How many times the supervisor restarted this child slot before this incarnation. */
  restarts: number;
  tracer: ((entry: TraceEntry) => void) | undefined;
  /** Handles one envelope from the mailbox; a returned promise keeps the process busy until it settles. */
  handle(envelope: Envelope): void | Promise<void>;
  /** Releases what the behaviour holds (timers). Called once, as the process dies; must not throw. */
  cleanup(reason: ExitReason): void;
  /** The behaviour's state for `sys:get_state`. */
  getState(): unknown;
  /** A short state value for tree listings (`Idle`, `{ Billing: 'Retry1' }`, `running`). */
  stateValue(): unknown;
  /** `sys:resume` was called: run whatever the behaviour queued internally while suspended. */
  onResume(): void;
}
