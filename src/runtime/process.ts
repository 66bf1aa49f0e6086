import type { Address, Envelope, CallerRef } from './envelope.ts';
import type { ExitReason } from './exit-reason.ts';
import type { Node } from './node.ts';
import type { Pid } from './pid.ts';
import type { PidSet } from './pid-set.ts';
import type { ProcessKind, ProcessRecord } from './process-record.ts';
import { Queue } from './queue.ts';
import type { TraceEntry } from './trace.ts';

export type { ProcessKind } from './process-record.ts';

const ALIVE = 1;
const SUSPENDED = 2;
const BUSY = 4;
const SCHEDULED = 8;
const TRAP_EXIT = 16;

/**
 * The common part of every process: identity, mailbox, links, monitors and counters. A behaviour
 * (a gen_statem actor, a supervisor) subclasses it and implements {@link Process.handle}; the
 * node owns scheduling and the exit protocol, so behaviours never see a half-dead process.
 *
 * Optional parts (links, monitors, tracer) start undefined: most actors have none, and an idle
 * actor should cost as little memory as possible.
 */
export abstract class Process implements ProcessRecord {
  abstract readonly kind: ProcessKind;
  /**
   * The five flags below in one field: a resident process is mostly idle, and each boolean field
   * cost 8 bytes in every one of them (tens of thousands on a busy node).
   */
  #flags = ALIVE;

  get alive(): boolean {
    return (this.#flags & ALIVE) !== 0;
  }
  set alive(on: boolean) {
    this.#flags = on ? this.#flags | ALIVE : this.#flags & ~ALIVE;
  }

  /** `sys:suspend`: messages queue up but are not handled until resumed. */
  get suspended(): boolean {
    return (this.#flags & SUSPENDED) !== 0;
  }
  set suspended(on: boolean) {
    this.#flags = on ? this.#flags | SUSPENDED : this.#flags & ~SUSPENDED;
  }

  /** Handling a message asynchronously (a supervisor waiting for a child to shut down). */
  get busy(): boolean {
    return (this.#flags & BUSY) !== 0;
  }
  set busy(on: boolean) {
    this.#flags = on ? this.#flags | BUSY : this.#flags & ~BUSY;
  }

  /** In the node's run queue. */
  get scheduled(): boolean {
    return (this.#flags & SCHEDULED) !== 0;
  }
  set scheduled(on: boolean) {
    this.#flags = on ? this.#flags | SCHEDULED : this.#flags & ~SCHEDULED;
  }

  get trapExit(): boolean {
    return (this.#flags & TRAP_EXIT) !== 0;
  }
  set trapExit(on: boolean) {
    this.#flags = on ? this.#flags | TRAP_EXIT : this.#flags & ~TRAP_EXIT;
  }

  name: string | undefined;
  /** The process that started this one linked (its supervisor); its exit signal always ends this one. */
  parent: Pid | undefined;
  readonly mailbox = new Queue<Envelope>();
  links: PidSet | undefined;
  /** Monitors others hold on this process: ref → watcher. */
  monitoredBy: Map<string, Pid | CallerRef> | undefined;
  /** Monitors this process holds on others: ref → target, removed when it dies. */
  monitoring: Map<string, Pid> | undefined;
  /** Monitors this process holds on remote names (`{name, node}`, no pid known here): ref → address. */
  monitoringNames: Map<string, Address> | undefined;
  messagesIn = 0;
  messagesOut = 0;
  /** How many times the supervisor restarted this child slot before this incarnation. */
  restarts = 0;
  tracer: ((entry: TraceEntry) => void) | undefined;

  constructor(
    readonly pid: Pid,
    readonly node: Node,
  ) {}

  /** Handles one envelope from the mailbox; a returned promise keeps the process busy until it settles. */
  abstract handle(envelope: Envelope): void | Promise<void>;

  /** Releases what the behaviour holds (timers). Called once, as the process dies; must not throw. */
  abstract cleanup(reason: ExitReason): void;

  /** The behaviour's state for `sys:get_state`. */
  abstract getState(): unknown;

  /** A short state value for tree listings (`Idle`, `{ Billing: 'Retry1' }`, `running`). */
  abstract stateValue(): unknown;

  /** `sys:resume` was called: run whatever the behaviour queued internally while suspended. */
  onResume(): void {}
}
