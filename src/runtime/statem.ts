import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { checkAddress, checkMessage, type CallEnvelope, type CallerRef, type Envelope, type Message, type TimeoutEnvelope } from './envelope.ts';
import { PostponeOverflowError, StartError, UnhandledEventError } from './errors.ts';
import type { ExitReason } from './exit-reason.ts';
import type { Node } from './node.ts';
import type { Pid } from './pid.ts';
import { Process } from './process.ts';
import { Queue } from './queue.ts';
import { EFFECT, TERMINATE_EVENT, type Effect } from './statem-actions.ts';
import { machineInfo, scopeFor, type CollectedAction, type StatemScope } from './statem-scope.ts';

export type { CollectedAction } from './statem-scope.ts';
import { reenteredStates } from './reentered-states.ts';
import { PERSISTED_STATE_VERSION, checkPersistedState, type PersistedActorState, type PersistedTimer, type TimerKind } from './persisted-state.ts';
import { recordValue, type RecordKeys } from './record-keys.ts';

/** @default 10_000 events kept for a later state before the actor is considered broken. */
export const DEFAULT_MAX_POSTPONED = 10_000;

/**
 * What an actor does with an event that its current state neither takes nor postpones:
 * `'crash'` (gen_statem's behaviour: the actor exits with an {@link UnhandledEventError}), or
 * `'drop'` (logged at warn with the event type and counted in `sys.statistics().unhandled`).
 */
export type UnhandledPolicy = 'crash' | 'drop';

export interface StatemOptions {
  /** Register the actor under this name (freed when it exits). */
  name?: string;
  /** Link to this pid as the actor starts (spawn_link); supervisors pass themselves. */
  link?: Pid;
  /** Exit signals arrive as `{ type: 'EXIT', from, reason }` events instead of killing the actor. */
  trapExit?: boolean;
  /** The machine's `input`. */
  input?: unknown;
  /** Start from a persisted state (rehydration) instead of the machine's initial state. */
  restore?: PersistedActorState;
  /**
   * Journal entries not yet committed, counted in `restore.journalLength` already: what a
   * migration of a stored state moves out of it into the journal (they go with the next commit).
   */
  journal?: readonly unknown[];
  /** The entity's keyed records (see {@link RecordAccess}); without it, `putRecord` is refused. */
  records?: RecordAccess;
  /**
   * Records not yet committed: what a migration of a stored state moves out of it into the
   * entity's records (they go with the next commit, and are looked up before the store).
   */
  pendingRecords?: Readonly<Record<string, unknown>>;
  /** @default 10_000 */
  maxPostponed?: number;
  /** An event no state takes or postpones. @default 'crash' */
  unhandled?: UnhandledPolicy;
  /**
   * Called after the actor has handled a message and everything it raised internally, while it
   * is still alive: the place to commit its state (an entity host saves it to its store).
   */
  afterStep?: (process: StatemProcess) => void;
  /**
   * What the actor's host knows it by (an entity host: its address), kept on the process so the
   * host's `afterStep` can be one function for all its actors instead of a closure per actor.
   */
  host?: unknown;
  /**
   * Where a hibernated actor's snapshot comes back from: the persisted snapshot of its last
   * commit (see {@link StatemProcess.hibernateIfIdle}). Without it the actor never hibernates.
   */
  rehydrate?: (process: StatemProcess) => unknown;
}

/**
 * How an actor reads its keyed records (`putRecord`). Before the machine takes an event,
 * `keyOf(event)` names the record it needs (`undefined`: none; a list: several, see
 * `record-keys.ts`) and the event is handed over with `$record`: the value written by this
 * process since its last commit, else `lookup(key)` (what the store holds), `null` when there is
 * none (with a list, an object of each key's value). Looked up at every step that takes the event, so
 * a postponed event sees what was written while it waited.
 */
export interface RecordAccess {
  keyOf(event: EventObject): RecordKeys;
  /**
   * The committed record of `process`, `undefined` when there is none; throws when it cannot be
   * read. The process is passed so that one access serves a whole kind (an idle actor's memory:
   * a closure per actor cost about 120 bytes).
   */
  lookup(key: string, process: StatemProcess): unknown;
}

/** Records this process wrote and remembers after their commit (lookups need not go to the store). */
const RECENT_RECORDS = 256;

interface RuntimeTimer {
  readonly kind: TimerKind;
  readonly deadline: number;
  readonly event: EventObject;
  readonly token: number;
  readonly handle: unknown;
}

/** An event with the envelope it came in, so a postponed call can still be replied to. */
interface Pending {
  readonly event: EventObject;
  readonly envelope: Envelope | undefined;
}

let timerTokens = 0;

/** The one state timeout an action sets (declared ones are `state:<state id>`, one per state). */
const STATE_TIMER = 'state';

/** Stand-in events for a `callTo` whose onReply/onError threw, with the error (unforgeable by identity). */
const answerFailures = new WeakMap<object, unknown>();

/**
 * An XState v5 machine run as a gen_statem process.
 *
 * The machine is stepped with its pure `transition` on a scope shared by the whole node (no
 * XState actor per process: that is what keeps an idle actor small and a step cheap). One step,
 * in order:
 *
 * 1. Any event cancels the event timeout.
 * 2. `machine.transition(snapshot, event)` computes the next snapshot; the actions it would run
 *    are collected, not run. A throw here (a guard, an `assign`) is a crash.
 * 3. No enabled transition means no state took the event: it is postponed if an active state
 *    declares so (`meta.postpone`), else the `unhandled` policy applies (a crash by default, as in
 *    gen_statem); the step ends.
 * 4. The new snapshot is committed; on a state change the state timeout an action set is
 *    cancelled (gen_statem cancels it before the transition's own timeout actions). Then the
 *    collected actions run in order; runtime effects (`reply`, `postpone`, timers, messages)
 *    arrive as emitted `governor.*` events.
 * 5. `status: 'error'` is a crash with that error; `'done'` an exit with reason `normal`.
 * 6. On a state change: declared state timeouts of exited states are cancelled, those of entered states armed, and
 *    postponed events go back to the front of the queue, behind `next_event`s. A re-entry
 *    without a state change only re-arms the declared timeouts of the states entered again.
 */
export class StatemProcess extends Process {
  get kind(): 'statem' {
    return 'statem';
  }

  readonly machine: AnyStateMachine;
  /** Undefined while hibernated: read through {@link snapshot}, which brings it back. */
  #snapshot: AnyMachineSnapshot | undefined;
  /** Four step flags in one field (see the accessors below): 8 bytes each in every resident actor otherwise. */
  #bits = UNCOMMITTED;
  /** The snapshot changed since the last {@link persistForCommit}: memory is ahead of the store. */
  get #uncommitted(): boolean {
    return (this.#bits & UNCOMMITTED) !== 0;
  }
  set #uncommitted(on: boolean) {
    this.#bits = on ? this.#bits | UNCOMMITTED : this.#bits & ~UNCOMMITTED;
  }
  /** The step asked to postpone the event it is handling. */
  get #postponeCurrent(): boolean {
    return (this.#bits & POSTPONE_CURRENT) !== 0;
  }
  set #postponeCurrent(on: boolean) {
    this.#bits = on ? this.#bits | POSTPONE_CURRENT : this.#bits & ~POSTPONE_CURRENT;
  }
  /** Inside `start`: a stop or a final state now is a failed start, not an exit. */
  get #starting(): boolean {
    return (this.#bits & STARTING) !== 0;
  }
  set #starting(on: boolean) {
    this.#bits = on ? this.#bits | STARTING : this.#bits & ~STARTING;
  }
  /** Set when the machine asked to be passivated; the store layer decides what that means. */
  get hibernateRequested(): boolean {
    return (this.#bits & HIBERNATE_REQUESTED) !== 0;
  }
  set hibernateRequested(on: boolean) {
    this.#bits = on ? this.#bits | HIBERNATE_REQUESTED : this.#bits & ~HIBERNATE_REQUESTED;
  }
  /** `messagesIn` at the last {@link hibernateIfIdle} that found the actor busy since the one before. */
  #idleMark = -1;
  readonly #rehydrate: StatemOptions['rehydrate'];
  #scope: StatemScope;
  #timers: Map<string, RuntimeTimer> | undefined;
  #postponed: Queue<Pending> | undefined;
  #internal: Queue<Pending> | undefined;
  #maxPostponed: number;
  readonly #unhandled: UnhandledPolicy;
  readonly #afterStep: StatemOptions['afterStep'];
  /** See {@link StatemOptions.host}; the runtime does not look at it. */
  readonly host: unknown;
  /** The envelope being handled: the `From` of a reply. */
  #current: Envelope | undefined;
  #stopReason: ExitReason | undefined;
  #nextEvents: Pending[] | undefined;
  #unnamedDelays = 0;
  /** Entries the journal has once this actor's state is committed (see `appendJournal`). */
  #journalLength = 0;
  /** Entries appended since the last commit took them ({@link takeJournal}). */
  #journal: unknown[] | undefined;
  readonly #records: RecordAccess | undefined;
  /** Records written since the last commit took them. */
  #pendingRecords: Map<string, unknown> | undefined;
  /** Records written and committed lately (bounded; the store has them all). */
  #recentRecords: Map<string, unknown> | undefined;
  /** Events dropped by the `'drop'` policy (`sys.statistics().unhandled`). */
  unhandledDropped = 0;

  constructor(pid: Pid, node: Node, machine: AnyStateMachine, options: StatemOptions) {
    super(pid, node);
    this.machine = machine;
    this.#scope = scopeFor(node);
    this.#maxPostponed = options.maxPostponed ?? DEFAULT_MAX_POSTPONED;
    this.#unhandled = options.unhandled ?? 'crash';
    this.#afterStep = options.afterStep;
    this.#records = options.records;
    if (options.pendingRecords && Object.keys(options.pendingRecords).length > 0) this.#pendingRecords = new Map(Object.entries(options.pendingRecords));
    this.host = options.host;
    this.#rehydrate = options.rehydrate;
  }

  /** The machine's snapshot; a hibernated actor's comes back from its last commit first. */
  get snapshot(): AnyMachineSnapshot {
    return this.#snapshot ?? this.#wake();
  }

  set snapshot(next: AnyMachineSnapshot) {
    this.#snapshot = next;
    this.#uncommitted = true;
  }

  /**
   * Whether the actor can leave memory without losing anything: no step since its last commit,
   * nothing queued or being handled, not suspended, and no spawned child (a hibernated actor's
   * snapshot has none). What hibernation and a passivation for the heap budget require.
   */
  get atRest(): boolean {
    if (this.#uncommitted || this.suspended || this.mailbox.length > 0) return false;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: redundant by design: a journal entry or a record comes only with a step or a start, which leaves the snapshot uncommitted too; a gen_statem step is synchronous, so the actor is never busy
    if (this.#journal !== undefined || this.#pendingRecords !== undefined || this.busy) return false;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,BooleanLiteral: redundant by design: events wait in the internal queue outside a step only while the actor is suspended (replace_state), checked above
    if ((this.#internal?.length ?? 0) > 0) return false;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: XState children are refused (statem-scope's `_register`), so no snapshot has any: kept in case that changes
    return this.#snapshot === undefined || this.#snapshot.children === NOTHING;
  }

  /** Whether the actor is hibernated now (its snapshot out of memory until its next use). */
  get hibernated(): boolean {
    // Only an actor with `rehydrate` ever drops its snapshot (see hibernateIfIdle).
    return this.#snapshot === undefined && this.alive;
  }

  /**
   * gen_statem's `hibernate_after`: an actor that handled nothing since the previous call, with
   * nothing queued, its state committed (memory not ahead of the store: `committed`, and no step
   * since its last commit) and no spawned children, drops its snapshot, the largest part of an
   * idle actor. Its process, timers, links and postponed events stay; the first use of its
   * snapshot (a message, a read) restores it from its last commit. Returns whether it hibernated.
   */
  hibernateIfIdle(committed: boolean): boolean {
    const snapshot = this.#snapshot;
    if (snapshot === undefined || this.#rehydrate === undefined || !this.alive) return false;
    if (this.messagesIn !== this.#idleMark) {
      this.#idleMark = this.messagesIn;
      return false;
    }
    if (!committed || !this.atRest) return false;
    this.#hibernate();
    return true;
  }

  /**
   * gen_statem's `hibernate_after` of 0, for an actor its host has just committed: at rest, its
   * state committed (`committed`) and no timer of it falling due within `horizonMs`, it
   * hibernates now instead of at the second idle sweep. A timer that close means it is in the
   * middle of an exchange (an orchestrator waiting for replies) and would be woken again at once;
   * the sweep takes it later. Returns whether it hibernated.
   */
  hibernateAfterCommit(committed: boolean, horizonMs: number): boolean {
    if (this.#snapshot === undefined || this.#rehydrate === undefined || !this.alive) return false;
    if (!committed || !this.atRest) return false;
    if (this.#timers !== undefined) {
      const soon = this.node.clock.now() + horizonMs;
      for (const timer of this.#timers.values()) if (timer.deadline < soon) return false;
    }
    this.#hibernate();
    return true;
  }

  /** Drops the snapshot and what only a busy actor needs; {@link snapshot} brings it back. */
  #hibernate(): void {
    this.#snapshot = undefined;
    // Emptied queues go too: they were kept for the next burst, which an idle actor does not expect.
    // Stryker disable ConditionalExpression,EqualityOperator: memory only: an empty queue and none behave alike (and the internal queue is empty at rest)
    if (this.#internal?.length === 0) this.#internal = undefined;
    if (this.#postponed?.length === 0) this.#postponed = undefined;
    if (this.#timers?.size === 0) this.#timers = undefined;
    // Stryker restore ConditionalExpression,EqualityOperator
    // Committed (checked above): the store has every record it remembers, about 250 bytes an actor.
    this.#recentRecords = undefined;
  }

  #wake(): AnyMachineSnapshot {
    // Stryker disable next-line OptionalChaining: only an actor with `rehydrate` hibernates, and only a hibernated one wakes
    const persisted = this.#rehydrate?.(this);
    if (persisted === undefined) throw new Error(`actor ${this.machine.id} (${this.name ?? this.pid}) hibernated and its committed state is gone`);
    const scope = this.#scope;
    scope.begin(this);
    let snapshot: AnyMachineSnapshot;
    try {
      // No children (checked before hibernating): restoring starts nothing and runs no action.
      snapshot = this.machine.restoreSnapshot(persisted as never, scope as never) as AnyMachineSnapshot;
    } finally {
      scope.end();
    }
    this.#snapshot = compact(snapshot);
    return this.#snapshot;
  }

  /** Computes the initial (or restored) snapshot and runs its entry actions. */
  start(options: StatemOptions): void {
    const scope = this.#scope;
    if (options.restore) checkPersistedState(options.restore, this.machine.id);
    this.#journalLength = options.restore?.journalLength ?? 0;
    if (options.journal && options.journal.length > 0) this.#journal = [...options.journal];
    this.#starting = true;
    try {
      this.#start(scope, options);
    } finally {
      this.#starting = false;
    }
  }

  #start(scope: StatemScope, options: StatemOptions): void {
    const actions = scope.begin(this);
    try {
      if (options.restore) {
        this.snapshot = this.machine.restoreSnapshot(options.restore.snapshot as never, scope as never) as AnyMachineSnapshot;
      } else {
        this.snapshot = this.machine.getInitialSnapshot(scope as never, options.input) as AnyMachineSnapshot;
      }
    } finally {
      scope.end();
    }
    if (this.snapshot.status === 'error') throw this.snapshot.error;
    compact(this.snapshot);
    this.#runActions(actions);
    // No event is being handled at start: a postpone() here has nothing to keep (gen_statem
    // refuses it in an enter call). Left set, it would postpone the first message after handling it.
    this.#postponeCurrent = false;
    if (options.restore) {
      // Earliest first: timers that fell due while the actor was away fire in deadline order.
      const timers = [...options.restore.timers].sort((a, b) => a.deadline - b.deadline);
      for (const timer of timers) this.#arm(timer.name, timer.kind, timer.deadline, timer.event);
      for (const event of options.restore.postponed) this.#restorePostponed(event);
    } else {
      // Stryker disable next-line ArrayDeclaration: no state node is a string: any list of them enters every state
      this.#enterStates([], this.snapshot);
    }
    this.#finishStep();
    this.#drainInternal();
  }

  handle(envelope: Envelope): void {
    switch (envelope.t) {
      case 'cast':
      case 'info':
        if (answerFailures.has(envelope.event)) throw answerFailures.get(envelope.event);
        this.#trace('in', envelope.t, envelope.event);
        this.#step('$from' in envelope.event ? withoutCaller(envelope.event) : envelope.event, envelope);
        break;
      case 'call':
        this.#trace('in', envelope.t, envelope.event);
        // A call's event carries its caller, so a machine can keep it and answer later (replyTo).
        this.#step({ ...envelope.event, $from: envelope.from } as EventObject, envelope);
        break;
      case 'timeout':
        if (!this.#fire(envelope)) return;
        break;
      case 'exit':
        // As in gen_statem: the parent's exit signal ends the actor even when it traps exits,
        // after its terminate (the supervisor's shutdown timer bounds how long that may take).
        if (envelope.from === this.parent) return this.#terminate(envelope.reason);
        this.#step({ type: 'EXIT', from: envelope.from, reason: envelope.reason } as EventObject, envelope);
        break;
      case 'down':
        this.#step({ type: 'DOWN', ref: envelope.ref, pid: envelope.pid, reason: envelope.reason } as EventObject, envelope);
        break;
      case 'stop':
        return this.#terminate(envelope.reason);
      // Stryker disable next-line ConditionalExpression: every envelope a process is sent has its case above
      default:
        return;
    }
    this.#drainInternal();
    if (this.alive) this.#afterStep?.(this);
  }

  #drainInternal(): void {
    // Stryker disable next-line OptionalChaining: the queue goes only with the actor (cleanup); the loop stops on `alive`, and the throw of a shift() after a step that ended the actor lands on a dead process, which ignores it
    for (let next = this.#internal?.shift(); next && this.alive; next = this.#internal?.shift()) {
      if (next.envelope?.t === 'timeout') this.#fire(next.envelope);
      else this.#step(next.event, next.envelope);
    }
  }

  /** A timer falling due: handled unless it was cancelled or restarted since. */
  #fire(envelope: TimeoutEnvelope): boolean {
    // Stryker disable next-line OptionalChaining: a timeout comes only from a timer armed, which made the map; only cleanup (dead) and hibernation (nothing queued) drop it
    const timer = this.#timers?.get(envelope.name);
    if (!timer || timer.token !== envelope.token) return false;
    this.#timers!.delete(envelope.name);
    this.#trace('in', `${timer.kind}_timeout`, timer.event);
    this.#step(timer.event, envelope);
    return true;
  }

  #step(event: EventObject, envelope: Envelope | undefined): void {
    if (this.#records) event = this.#withRecord(event);
    // Stryker disable next-line ConditionalExpression: a shortcut: #cancel checks the timer itself
    if (this.#timers?.has('event')) this.#cancel('event');
    const previous = this.snapshot;
    const actions = this.#scope.begin(this);
    let next: AnyMachineSnapshot;
    try {
      next = this.machine.transition(previous, event, this.#scope as never) as AnyMachineSnapshot;
    } finally {
      this.#scope.end();
    }
    // The same snapshot and nothing to do usually means no transition took the event; only then
    // ask XState which transitions are enabled (it re-evaluates guards, so not on every step).
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: a shortcut: getTransitionData alone decides whether the event was taken
    const quiet = next === previous && actions.length === 0;
    if (quiet && this.machine.getTransitionData(previous, event).length === 0) {
      this.#notTaken(previous, event, envelope);
      return;
    }
    this.snapshot = compact(next);
    const changed = stateChanged(previous, next);
    // gen_statem: a state change cancels the state timeout before the transition's own timeout
    // actions run, so one they set (an entry action's) belongs to the new state, and an update
    // finds none running and is handled at once.
    if (changed) this.#leaveState();
    this.#current = envelope;
    this.#runActions(actions);
    this.#current = undefined;
    if (this.#postponeCurrent) {
      this.#postponeCurrent = false;
      this.#postpone(event, envelope);
    }
    if (this.tracer && changed) {
      this.tracer({ pid: this.pid, at: this.node.clock.now(), kind: 'transition', from: previous.value, to: next.value, event });
    }
    // A re-entry (`reenter: true`, gen_statem's repeat_state) is no state change (postponed
    // events stay put) but re-arms the state timeouts of the states it entered again.
    const reentered = this.#reentered(previous, next);
    // Stryker disable next-line ConditionalExpression: a shortcut: with no state left or entered again, #enterStates changes nothing
    if (changed || reentered) this.#enterStates(previous._nodes, next, reentered);
    if (changed) this.#replayPostponed();
    this.#finishStep();
  }

  /**
   * gen_statem's `terminate/3`, then the exit: the machine takes the terminate event (a
   * transition of its own, with guards and actions like any other), then the actor ends with
   * `reason`. Its effects that outlive it (messages, replies) go out; timers and inserted events
   * die with it. A throw there is the exit reason instead, as a crash in `terminate/3` is.
   *
   * Why an event and not the exit actions of the active states: XState itself runs no exit
   * actions when an actor is stopped (only on reaching a final state), exit actions also run on
   * every ordinary state change so they cannot tell a shutdown from a transition, and they do not
   * get the reason. An event gets the reason, can be handled differently per state (as
   * `terminate(Reason, State, Data)`), and keeps the machine a plain XState machine that
   * `xstate/graph` can walk.
   */
  #terminate(reason: ExitReason): void {
    const event = { type: TERMINATE_EVENT, reason };
    const actions = this.#scope.begin(this);
    let next: AnyMachineSnapshot;
    try {
      next = this.machine.transition(this.snapshot, event, this.#scope as never) as AnyMachineSnapshot;
    } finally {
      this.#scope.end();
    }
    this.snapshot = next;
    this.#current = undefined;
    this.#runActions(actions);
    // Stryker disable next-line ConditionalExpression,StringLiteral: XState's transition() throws rather than return an error snapshot (a throw here is the exit reason too); kept in case that changes
    this.node._terminate(this, next.status === 'error' ? next.error : reason);
  }

  /** Ends the step: queues `next_event`s first, then applies a crash, a final state or a stop. */
  #finishStep(): void {
    if (this.#nextEvents) {
      const events = this.#nextEvents;
      this.#nextEvents = undefined;
      this.#internal ??= new Queue();
      for (let i = events.length - 1; i >= 0; i--) this.#internal.unshift(events[i]!);
    }
    // Stryker disable next-line ConditionalExpression,StringLiteral: only getInitialSnapshot returns an error snapshot (checked in #start); XState's transition() throws instead: kept in case that changes
    if (this.snapshot.status === 'error') throw this.snapshot.error;
    if (this.snapshot.status === 'done') return this.#end('normal');
    if (this.#stopReason !== undefined) {
      const reason = this.#stopReason;
      this.#stopReason = undefined;
      this.#end(reason);
    }
  }

  /**
   * Ends the actor with `reason`. While it is starting, this is gen_statem's init returning
   * `{stop, Reason}`: the start fails with the reason (its starter gets an error, never the pid
   * of a process that is already dead, which a supervisor would take for a crash loop).
   */
  #end(reason: ExitReason): void {
    if (this.#starting) throw new StoppedWhileStarting(reason);
    this.node._terminate(this, reason);
  }

  #runActions(actions: readonly CollectedAction[]): void {
    // Stryker disable next-line ConditionalExpression: a shortcut: no action, nothing to run
    if (actions.length === 0) return;
    // An action may run another actor's step before it returns (a cast to a co-located actor is
    // delivered at once): that step's actions must not leave this one without its actor.
    const outer = this.#scope.executing;
    this.#scope.executing = this;
    try {
      for (const action of actions) action.exec?.(action.info, action.params);
    } finally {
      this.#scope.executing = outer;
    }
  }

  /** @internal a `governor.*` effect emitted by the machine's actions. */
  effect(effect: Effect | EventObject): void {
    const node = this.node;
    const e = effect as Effect;
    switch (e.type) {
      case EFFECT.reply:
        if (this.#current?.t === 'call') this.#reply((this.#current as CallEnvelope).from, e.value);
        return;
      case EFFECT.replyTo:
        if (isCallerRef(e.to)) this.#reply(e.to, e.value);
        return;
      case EFFECT.postpone:
        this.#postponeCurrent = true;
        return;
      case EFFECT.nextEvent: {
        // The call being handled, inserted again (its `$from` is this call's caller), keeps the
        // call's envelope, as gen_statem's `{next_event, {call, From}, Req}`: the step that
        // handles it can still `reply()`. Any other inserted event is internal and has no caller.
        const current = this.#current;
        const keep = current?.t === 'call' && sameCaller((e.event as { $from?: unknown }).$from, current.from);
        const event = e.stampAt ? { ...e.event, at: node.clock.now() } : e.event;
        (this.#nextEvents ??= []).push({ event, envelope: keep ? current : undefined });
        return;
      }
      case EFFECT.startTimer:
        this.#arm(`generic:${e.name}`, 'generic', this.#deadline('startTimer', e.ms, e.abs), e.event);
        return;
      case EFFECT.cancelTimer:
        this.#cancel(`generic:${e.name}`);
        return;
      case EFFECT.updateTimer:
        this.#update(`generic:${e.name}`, 'generic', e.event);
        return;
      case EFFECT.eventTimeout:
        this.#arm('event', 'event', this.#deadline('eventTimeout', e.ms, e.abs), e.event);
        return;
      case EFFECT.stateTimeout:
        this.#arm(STATE_TIMER, 'state', this.#deadline('stateTimeout', e.ms, e.abs), e.event);
        return;
      case EFFECT.cancelStateTimeout:
        this.#cancel(STATE_TIMER);
        return;
      case EFFECT.updateStateTimeout:
        this.#update(STATE_TIMER, 'state', e.event);
        return;
      case EFFECT.cast:
      case EFFECT.send:
        checkAddress(e.to);
        checkMessage(e.event); // a malformed message crashes its sender, never its receiver
        this.messagesOut++;
        this.tracer?.({ pid: this.pid, at: node.clock.now(), kind: 'out', to: e.to, event: e.event });
        node.route({ t: e.type === EFFECT.cast ? 'cast' : 'info', to: e.to, event: e.event, from: this.pid });
        return;
      case EFFECT.call: {
        this.messagesOut++;
        this.tracer?.({ pid: this.pid, at: node.clock.now(), kind: 'out', to: e.to, event: e.event });
        const self = this.pid;
        // The answer joins this actor's mailbox at once, in the callee's send order. `onReply` /
        // `onError` are this machine's code: a throw there is this actor's crash, taken in its own
        // turn, never the callee's (whose step may be the one delivering the reply).
        const answer = (make: (x: never) => EventObject, x: unknown) => {
          if (!node.isAlive(self)) return;
          let event: EventObject;
          try {
            event = make(x as never);
          } catch (error) {
            // Stryker disable next-line ObjectLiteral,StringLiteral: only the stand-in's identity matters (answerFailures); its content is never read
            event = { type: EFFECT.call };
            answerFailures.set(event, error);
          }
          node.route({ t: 'info', to: self, event: event as Message });
        };
        node._request(e.to, e.event, e.timeout, (value) => answer(e.onReply, value), (error) => answer(e.onError, error));
        return;
      }
      case EFFECT.stop:
        this.#stopReason = e.reason;
        return;
      case EFFECT.hibernate:
        this.hibernateRequested = true;
        return;
      case EFFECT.record:
        // Without record access (an actor spawned outside an entity host) they are still taken
        // by the next commit (`persistForCommit`); nothing hands them back with events.
        if (typeof e.key !== 'string' || e.key.length === 0) throw new TypeError('putRecord: the key must be a non-empty string');
        (this.#pendingRecords ??= new Map()).set(e.key, e.value);
        return;
      case EFFECT.journal:
        if (!Array.isArray(e.entries)) throw new TypeError('appendJournal: entries must be an array of JSON values');
        (this.#journal ??= []).push(...(e.entries as unknown[]));
        this.#journalLength += e.entries.length;
        return;
      default:
        return; // the machine's own emitted events: nothing for the runtime to do
    }
  }

  /**
   * @internal XState's delayed events (`after`, delayed `raise`) on the runtime's clock. An id
   * names the timer: a later event with the same id replaces it and `cancel(id)` stops it. Without
   * an id, as in XState, each event gets a timer of its own, which nothing can cancel.
   */
  scheduleDelayed(id: string | undefined, ms: number, event: EventObject): void {
    this.#arm(id === undefined ? this.#unnamedDelay() : `delay:${id}`, 'delay', this.node.clock.now() + ms, event);
  }

  /**
   * `delay#<n>`, apart from `delay:<id>`. Numbered per actor, so persisted states do not depend on
   * what else ran; a free name is looked for, as a restored actor starts counting from 0 again.
   */
  #unnamedDelay(): string {
    let name: string;
    // Stryker disable next-line UpdateOperator: any name not taken will do (a restored actor counts again from 0 and skips the taken ones)
    do name = `delay#${++this.#unnamedDelays}`;
    while (this.#timers?.has(name));
    return name;
  }

  /** @internal */
  cancelDelayed(id: string): void {
    this.#cancel(`delay:${id}`);
  }

  /**
   * An event no transition took: kept when an active state postpones it, else the `unhandled`
   * policy. Never parked unseen: an event nobody asked to keep would wait forever for a state
   * that may never come, and its sender would never learn why.
   */
  #notTaken(snapshot: AnyMachineSnapshot, event: EventObject, envelope: Envelope | undefined): void {
    if (this.#declaresPostpone(snapshot, event)) return this.#postpone(event, envelope);
    // An `after` whose guards all say no is XState's own timer, not a message: the machine has
    // decided not to move, so nothing was sent that could be lost.
    if (event.type.startsWith('xstate.after.')) return;
    if (this.#unhandled === 'crash') throw new UnhandledEventError(this.pid, this.machine.id, snapshot.value, event.type);
    this.unhandledDropped++;
    this.node.logger.warn({ actor: this.pid, machine: this.machine.id, state: snapshot.value, eventType: event.type }, 'unhandled event dropped');
    this.tracer?.({ pid: this.pid, at: this.node.clock.now(), kind: 'drop', event });
  }

  /**
   * A postponed event of a persisted state is kept if the restored state takes it (a `postpone()`
   * action kept it) or declares it postponed. One that neither is was parked by the implicit
   * postpone of states persisted before postpone became explicit: replayed at the next state
   * change, it would crash the actor on an event that has nothing to do with it, again at every
   * restart, and an entity's innocent messages would be dead-lettered for it. It is dropped once,
   * with a warn line naming it and a count in `sys.statistics().unhandled`.
   */
  #restorePostponed(event: EventObject): void {
    const snapshot = this.snapshot;
    if (this.#declaresPostpone(snapshot, event) || this.machine.getTransitionData(snapshot, event).length > 0) {
      (this.#postponed ??= new Queue()).push({ event, envelope: undefined });
      return;
    }
    this.unhandledDropped++;
    this.node.logger.warn(
      { actor: this.pid, machine: this.machine.id, state: snapshot.value, eventType: event.type, event },
      // Stryker disable next-line StringLiteral: log text
      'a restored postponed event that no state takes or postpones was dropped (parked before postpone was explicit)',
    );
  }

  /** Whether an active state of `snapshot` (or one around it) lists `event` in its `meta.postpone`. */
  #declaresPostpone(snapshot: AnyMachineSnapshot, event: EventObject): boolean {
    const postpones = machineInfo(this.machine).postpones;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut for the machines that postpone nothing
    return postpones.size > 0 && snapshot._nodes.some((node) => postpones.get(node)?.(event) === true);
  }

  #postpone(event: EventObject, envelope: Envelope | undefined): void {
    const queue = (this.#postponed ??= new Queue());
    if (queue.length >= this.#maxPostponed) throw new PostponeOverflowError(this.pid, this.#maxPostponed);
    queue.push({ event, envelope });
    this.tracer?.({ pid: this.pid, at: this.node.clock.now(), kind: 'postpone', event });
  }

  /** Postponed events go first, oldest first, ahead of whatever was queued internally. */
  #replayPostponed(): void {
    const postponed = this.#postponed;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut: replaying an empty queue moves nothing
    if (!postponed || postponed.length === 0) return;
    this.#postponed = undefined;
    const internal = (this.#internal ??= new Queue());
    const replay = postponed.toArray();
    for (let i = replay.length - 1; i >= 0; i--) internal.unshift(replay[i]!);
  }

  /** The states with a declared timeout that this step left and entered again. */
  #reentered(previous: AnyMachineSnapshot, next: AnyMachineSnapshot): Set<unknown> | undefined {
    const microsteps = this.#scope.microsteps;
    // Stryker disable next-line ConditionalExpression: a shortcut: no microstep, nothing re-entered
    if (microsteps.length === 0) return undefined;
    const timeouts = machineInfo(this.machine).stateTimeouts;
    // Stryker disable next-line ConditionalExpression: a shortcut: reenteredStates finds nothing among no candidates
    return timeouts.size === 0 ? undefined : reenteredStates(previous, next, microsteps, timeouts);
  }

  /** Cancels the state timeouts of states left and arms those of states entered (or re-entered). */
  #enterStates(previousNodes: readonly unknown[], next: AnyMachineSnapshot, reentered?: Set<unknown>): void {
    const info = machineInfo(this.machine);
    // Stryker disable next-line ConditionalExpression: a shortcut for the machines that declare no state timeout
    if (info.stateTimeouts.size === 0) return;
    // Timer names come built with the declarations: a name per state change was a string to
    // build and hash, twice (the cancel and the arm), for every orchestrator step.
    for (const node of previousNodes) {
      const timeout = info.stateTimeouts.get(node);
      if (timeout && !next._nodes.includes(node as never)) this.#cancel(timeout.timer);
    }
    for (const node of next._nodes) {
      const timeout = info.stateTimeouts.get(node);
      if (timeout && (!previousNodes.includes(node) || reentered?.has(node))) this.#arm(timeout.timer, 'state', this.node.clock.now() + timeout.ms, timeout.event);
    }
  }

  /** A timeout action's time as a deadline: a delay from now, or with `abs` the deadline itself. */
  #deadline(action: string, ms: unknown, abs: boolean | undefined): number {
    if (abs) {
      if (typeof ms !== 'number' || Number.isNaN(ms)) throw new TypeError(`${action}: an absolute time must be a number (epoch ms) or Infinity, got ${String(ms)}`);
      return ms;
    }
    checkTime(action, ms);
    return this.node.clock.now() + (ms as number);
  }

  /** `{T, update, Event}`: a new event for a running timer, same deadline; none running fires now. */
  #update(name: string, kind: TimerKind, event: EventObject): void {
    const timer = this.#timers?.get(name);
    if (timer) this.#timers!.set(name, { ...timer, event });
    else this.#arm(name, kind, this.node.clock.now(), event);
  }

  /** A state change: the state timeout set by an action goes (before the step's actions set a new one). */
  #leaveState(): void {
    this.#cancel(STATE_TIMER);
  }

  #arm(name: string, kind: TimerKind, deadline: number, event: EventObject): void {
    this.#cancel(name);
    if (deadline === Infinity) return; // gen_statem: a timeout of infinity never fires, it cancels
    // Stryker disable next-line UpdateOperator: tokens only need to differ
    const token = ++timerTokens;
    const node = this.node;
    const pid = this.pid;
    const delay = Math.max(0, deadline - node.clock.now());
    if (delay === 0) {
      // gen_statem: a timeout already due is queued at once, behind the events queued internally
      // (next_event, retried postponed) and before any message not yet received. It stays a timer
      // until its turn, so a cancel or a restart in between still stops it.
      (this.#timers ??= new Map()).set(name, { kind, deadline, event, token, handle: undefined });
      (this.#internal ??= new Queue()).push({ event, envelope: { t: 'timeout', to: pid, name, token } });
      return;
    }
    const handle = node.clock.setTimeout(() => node.deliver({ t: 'timeout', to: pid, name, token }), delay);
    (this.#timers ??= new Map()).set(name, { kind, deadline, event, token, handle });
  }

  #cancel(name: string): void {
    const timer = this.#timers?.get(name);
    if (!timer) return;
    if (timer.handle !== undefined) this.node.clock.clearTimeout(timer.handle);
    this.#timers!.delete(name);
  }

  #reply(to: CallerRef, value: unknown): void {
    this.tracer?.({ pid: this.pid, at: this.node.clock.now(), kind: 'out', to, reply: value });
    this.node.route({ t: 'reply', to, value });
  }

  #trace(kind: 'in', via: string, event: EventObject): void {
    this.tracer?.({ pid: this.pid, at: this.node.clock.now(), kind, via, event });
  }

  cleanup(): void {
    // Stryker disable next-line ConditionalExpression: clearing no handle is harmless
    if (this.#timers) for (const timer of this.#timers.values()) if (timer.handle !== undefined) this.node.clock.clearTimeout(timer.handle);
    this.#timers = undefined;
    this.#internal = undefined;
    this.#postponed = undefined;
  }

  getState(): { value: unknown; context: unknown } {
    return { value: this.snapshot.value, context: this.snapshot.context };
  }

  stateValue(): unknown {
    return this.snapshot.value;
  }

  /**
   * `sys:replace_state`: a new state value and/or context, resolved by the machine. Then, as
   * after a step, `afterStep` commits it: a replaced state (and what the events it replayed did,
   * replies and messages included) that stayed only in memory would be undone by the next restart.
   */
  replaceState(next: { value?: unknown; context?: unknown }): void {
    const previous = this.snapshot;
    this.snapshot = this.machine.resolveState({
      value: (next.value ?? previous.value) as never,
      context: (next.context ?? previous.context) as never,
    }) as AnyMachineSnapshot;
    if (stateChanged(previous, this.snapshot)) {
      this.#leaveState();
      this.#enterStates(previous._nodes, this.snapshot);
      this.#replayPostponed();
      // A suspended actor handles nothing until resumed (then `onResume` runs what was queued).
      if (!this.suspended) this.#drainSafely();
    }
    this.#afterOutsideStep();
  }

  /** @internal `sys:resume`: events queued internally while suspended (by replace_state) run now, then are committed. */
  override onResume(): void {
    if (this.#drainSafely()) this.#afterOutsideStep();
  }

  /**
   * Runs the internal queue outside a mailbox delivery (replace_state, resume); whether it ran
   * anything. A throw there is the actor's crash, as it would be in a step: the actor must not
   * stay alive half-way through.
   */
  #drainSafely(): boolean {
    if (!this.#internal || this.#internal.length === 0) return false;
    try {
      this.#drainInternal();
    } catch (error) {
      this.node._terminate(this, error);
    }
    return true;
  }

  /** `afterStep` for a change made outside a mailbox delivery; its throw is the actor's crash, as in a step. */
  #afterOutsideStep(): void {
    if (!this.alive || this.#afterStep === undefined) return;
    try {
      this.#afterStep(this);
    } catch (error) {
      this.node._terminate(this, error);
    }
  }

  /** Timers with their deadlines, for `get_status` and persistence. */
  timers(): PersistedTimer[] {
    if (!this.#timers) return [];
    return [...this.#timers].map(([name, t]) => ({ name, kind: t.kind, deadline: t.deadline, event: t.event }));
  }

  postponedEvents(): EventObject[] {
    return this.#postponed ? this.#postponed.toArray().map((p) => p.event) : [];
  }

  /** Everything needed to bring this actor back elsewhere or later: snapshot, timers, postponed. */
  persist(): PersistedActorState {
    return {
      version: PERSISTED_STATE_VERSION,
      machine: this.machine.id,
      snapshot: this.machine.getPersistedSnapshot(this.snapshot),
      timers: this.timers(),
      postponed: this.postponedEvents(),
      ...(this.#journalLength > 0 ? { journalLength: this.#journalLength } : {}),
    };
  }

  /**
   * {@link persist} for a commit: with the journal entries appended since the last one, which
   * it takes (they leave this process; a commit that fails drops the process too, so they come
   * back with it from the last committed state, never twice and never lost).
   */
  persistForCommit(): PersistedActorState {
    const state = this.persist();
    this.#uncommitted = false;
    const journal = this.#journal;
    const records = this.#pendingRecords;
    // Stryker disable next-line ConditionalExpression: a shortcut: the state as it is, not a copy with nothing added
    if (journal === undefined && records === undefined) return state;
    this.#journal = undefined;
    this.#pendingRecords = undefined;
    if (records) this.#remember(records);
    return { ...state, ...(journal ? { journal } : {}), ...(records ? { records: Object.fromEntries(records) } : {}) };
  }

  /** A record this process wrote and has not forgotten (`undefined`: ask the store). */
  recordOf(key: string): unknown {
    if (this.#pendingRecords?.has(key)) return this.#pendingRecords.get(key) ?? null;
    if (this.#recentRecords?.has(key)) return this.#recentRecords.get(key) ?? null;
    return undefined;
  }

  /**
   * The event with the record it needs as `$record` (see {@link RecordAccess}); any `$record` it
   * came with is dropped: only the runtime says what was recorded.
   */
  #withRecord(event: EventObject): EventObject {
    const named = this.#records!.keyOf(event);
    if (named === undefined) {
      if (!('$record' in event)) return event;
      const { $record: _forged, ...rest } = event as EventObject & { $record?: unknown };
      return rest as EventObject;
    }
    const value = recordValue(named, (key) => this.recordOf(key) ?? this.#records!.lookup(key, this));
    return { ...event, $record: value } as EventObject;
  }

  #remember(records: ReadonlyMap<string, unknown>): void {
    const recent = (this.#recentRecords ??= new Map());
    for (const [key, value] of records) {
      recent.delete(key);
      recent.set(key, value);
    }
    // Oldest first (insertion order): beyond the bound the store answers.
    for (const key of recent.keys()) {
      if (recent.size <= RECENT_RECORDS) break;
      recent.delete(key);
    }
  }
}

/** Carries the reason of a stop (or final state) reached during `start` out to `spawnStatem`. */
class StoppedWhileStarting extends Error {
  constructor(readonly reason: ExitReason) {
    // Stryker disable next-line StringLiteral: never shown: spawnStatem catches it and throws a StartError with the reason
    super('stopped while starting');
  }
}

/**
 * Only the runtime says who is waiting for a reply: a `$from` on a cast or a plain message is a
 * forgery (it would let the sender settle somebody else's call through `replyTo`) and is dropped.
 */
function withoutCaller(event: Message): EventObject {
  const { $from: _forged, ...rest } = event;
  return rest as EventObject;
}

function sameCaller(value: unknown, from: CallerRef): boolean {
  return isCallerRef(value) && value.node === from.node && value.ref === from.ref;
}

function isCallerRef(value: unknown): value is CallerRef {
  const ref = value as CallerRef | undefined;
  return typeof ref === 'object' && ref !== null && typeof ref.node === 'string' && typeof ref.ref === 'string';
}

/** gen_statem's timeout times: a number of ms ≥ 0, or Infinity (never). Anything else is a bug in the machine. */
function checkTime(action: string, ms: unknown): void {
  if (typeof ms !== 'number' || !(ms >= 0)) throw new TypeError(`${action}: ms must be a number ≥ 0 or Infinity, got ${String(ms)}`);
}

const UNCOMMITTED = 1;
const POSTPONE_CURRENT = 2;
const STARTING = 8;
const HIBERNATE_REQUESTED = 16;

/** Shared stand-ins for the empty parts of a snapshot (see {@link compact}). */
const NO_TAGS: ReadonlySet<string> = new Set();
const NOTHING = Object.freeze({});

/**
 * Replaces the empty tag set, children and history of a new snapshot by shared empty ones: XState
 * makes a fresh `Set` and two fresh objects for every snapshot, about 200 bytes an actor keeps
 * for as long as it is resident, and never writes to them (it copies before any change).
 */
function compact(snapshot: AnyMachineSnapshot): AnyMachineSnapshot {
  const parts = snapshot as { tags: ReadonlySet<string>; children: object; historyValue: object };
  if (parts.tags !== NO_TAGS && parts.tags.size === 0) parts.tags = NO_TAGS;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: XState children are refused (statem-scope's `_register`): memory only
  if (parts.children !== NOTHING && isEmpty(parts.children)) parts.children = NOTHING;
  if (parts.historyValue !== NOTHING && isEmpty(parts.historyValue)) parts.historyValue = NOTHING;
  return snapshot;
}

function isEmpty(object: object): boolean {
  for (const _key in object) return false;
  return true;
}

/** A state change in gen_statem's sense: the set of active state nodes differs. */
function stateChanged(a: AnyMachineSnapshot, b: AnyMachineSnapshot): boolean {
  const x = a._nodes;
  const y = b._nodes;
  // Stryker disable ConditionalExpression,EqualityOperator: shortcuts: one configuration is never a proper prefix of another (an active compound state always has an active child), and past the end both are undefined
  if (x === y) return false;
  if (x.length !== y.length) return true;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return true;
  // Stryker restore ConditionalExpression,EqualityOperator
  return false;
}

/**
 * Spawns an XState machine as a gen_statem actor and returns its pid. The initial state's entry
 * actions (and the events they insert) run before this returns; if they (or the machine's setup)
 * throw, or the machine stops (`stop(reason)`, or a final state: `normal`) while starting,
 * nothing is left running and a {@link StartError} carries the reason (gen_statem's
 * `{error, Reason}`).
 *
 * @example
 * const pid = spawnStatem(node, machine, { name: 'door', input: { code: 1234 } });
 */
export function spawnStatem(node: Node, machine: AnyStateMachine, options: StatemOptions = {}): Pid {
  machineInfo(machine); // validates the machine once, before any process exists
  if (options.unhandled !== undefined && options.unhandled !== 'crash' && options.unhandled !== 'drop') {
    throw new TypeError(`unhandled must be 'crash' or 'drop', got ${JSON.stringify(options.unhandled)}`);
  }
  const max = options.maxPostponed;
  if (max !== undefined && !(max === Infinity || (Number.isInteger(max) && max >= 0))) {
    // NaN would silently turn the overflow check off, and a negative limit crash on the first postpone.
    throw new TypeError(`maxPostponed must be a whole number ≥ 0 or Infinity, got ${String(max)}`);
  }
  const process = node._spawnProcess((pid) => new StatemProcess(pid, node, machine, options), options);
  try {
    node.run(() => process.start(options));
  } catch (error) {
    const reason = error instanceof StoppedWhileStarting ? error.reason : error;
    // Not a crash of a running actor: whoever linked to it hears nothing, the caller gets the error.
    if (options.link !== undefined) node.unlink(process.pid, options.link);
    node._terminate(process, reason);
    throw new StartError(`actor ${machine.id}`, reason);
  }
  return process.pid;
}
