import type { AnyStateMachine, EventObject } from 'xstate';
import { UnsupportedMachineFeatureError } from './errors.ts';
import type { Node } from './node.ts';
import type { Microstep } from './reentered-states.ts';

/** An action XState would have run, as collected by the scope. */
export interface CollectedAction {
  readonly type: string;
  readonly info: unknown;
  readonly params: unknown;
  readonly exec: ((info: unknown, params: unknown) => void) | undefined;
}

/**
 * What the scope asks of the actor whose step runs: its delayed events and emitted effects.
 * `ScopedActor` implements it; declared here so that the scope, which the actor is built on,
 * does not import the actor back.
 */
export interface ScopedActor {
  scheduleDelayed(id: string | undefined, delay: number, event: EventObject): void;
  cancelDelayed(id: string): void;
  effect(event: EventObject): void;
}

/** A state timeout declared in a state's `meta`: `meta: { stateTimeout: { ms: 5000, event: 'TIMEOUT' } }`. */
export interface StateTimeoutDeclaration {
  readonly ms: number;
  readonly event: EventObject;
}

/** A declared state timeout with its timer's name, built once: a state change arms and cancels by name. */
export interface StateTimeout extends StateTimeoutDeclaration {
  /** `state:<state node id>`. */
  readonly timer: string;
}

/**
 * What a state keeps for later (gen_statem's `postpone`), declared in its `meta`: event types, or
 * a predicate of the event. `meta: { postpone: ['lifecycle'] }` on a state keeps those events
 * while that state (or a state inside it) is active; on the machine's root, in every state.
 */
export type PostponeDeclaration = readonly string[] | ((event: EventObject) => boolean);

/** What the runtime needs to know about a machine, computed once per machine. */
export interface MachineInfo {
  /** State node → its declared state timeout. */
  readonly stateTimeouts: Map<unknown, StateTimeout>;
  /** State node → whether it keeps an event it does not take (its `meta.postpone`). */
  readonly postpones: Map<unknown, (event: EventObject) => boolean>;
}

interface StateNodeLike {
  readonly id: string;
  readonly meta?: unknown;
  readonly invoke: readonly unknown[];
  readonly states: Record<string, StateNodeLike>;
}

const infos = new WeakMap<AnyStateMachine, MachineInfo>();

/**
 * Reads a machine's state timeouts and refuses what the runtime replaces: `invoke` (children are
 * supervised processes here, not XState children of one parent).
 */
export function machineInfo(machine: AnyStateMachine): MachineInfo {
  let info = infos.get(machine);
  // Stryker disable next-line ConditionalExpression: a cache: reading the machine again gives the same info
  if (info) return info;
  const stateTimeouts = new Map<unknown, StateTimeout>();
  const postpones = new Map<unknown, (event: EventObject) => boolean>();
  const visit = (node: StateNodeLike): void => {
    if (node.invoke.length > 0) {
      throw new UnsupportedMachineFeatureError(
        `invoke (state "${node.id}")`,
        'start the child under a supervisor and talk to it with castTo/callTo',
      );
    }
    const declared = (node.meta as { stateTimeout?: unknown } | undefined)?.stateTimeout;
    if (declared !== undefined) stateTimeouts.set(node, parseStateTimeout(node.id, declared));
    const postpone = (node.meta as { postpone?: unknown } | undefined)?.postpone;
    if (postpone !== undefined) postpones.set(node, parsePostpone(node.id, postpone));
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as StateNodeLike);
  info = { stateTimeouts, postpones };
  infos.set(machine, info);
  return info;
}

function parsePostpone(stateId: string, declared: unknown): (event: EventObject) => boolean {
  if (typeof declared === 'function') return declared as (event: EventObject) => boolean;
  if (Array.isArray(declared) && declared.every((type) => typeof type === 'string' && type.length > 0)) {
    const types = new Set<string>(declared as string[]);
    return (event) => types.has(event.type);
  }
  throw new TypeError(`meta.postpone of state "${stateId}" must be a list of event types or a function (event) => boolean`);
}

function parseStateTimeout(stateId: string, declared: unknown): StateTimeout {
  const d = declared as { ms?: unknown; event?: unknown };
  const where = `meta.stateTimeout of state "${stateId}"`;
  if (typeof d !== 'object' || d === null) throw new TypeError(`${where} must be { ms, event }`);
  // Stryker disable next-line ConditionalExpression: Number.isFinite refuses every non-number too; the typeof narrows the type
  if (typeof d.ms !== 'number' || !Number.isFinite(d.ms) || d.ms < 0) {
    throw new TypeError(`${where}: ms must be a finite number ≥ 0, got ${String(d.ms)}`);
  }
  const event = typeof d.event === 'string' ? { type: d.event } : d.event;
  if (typeof event !== 'object' || event === null || typeof (event as EventObject).type !== 'string') {
    throw new TypeError(`${where}: event must be an event type or an event object with a string type`);
  }
  return { ms: d.ms, event: event as EventObject, timer: `state:${stateId}` };
}

/**
 * The XState actor scope every actor of a node shares. XState's own `transition()` builds a whole
 * inert actor per call; stepping `machine.transition(snapshot, event, scope)` with one reusable
 * scope costs nothing per step and nothing per actor. Steps never nest (effects only queue
 * messages), so one "current process" pointer is enough.
 */
export interface StatemScope {
  begin(process: ScopedActor): CollectedAction[];
  end(): void;
  /** The process whose collected actions are running (emitted effects go to it). */
  executing: ScopedActor | undefined;
  /** XState's microsteps in the current step, as its inspection hook reports them (to see re-entries). */
  readonly microsteps: Microstep[];
}

const scopes = new WeakMap<Node, StatemScope>();

/** The id of every Governor actor as XState sees it; the runtime's own names are its pids. */
// Stryker disable next-line StringLiteral: a placeholder no behaviour reads (XState children, which would, are refused)
const SCOPE_ID = 'governor';

export function scopeFor(node: Node): StatemScope {
  let scope = scopes.get(node);
  // Stryker disable next-line ConditionalExpression: a cache: a fresh scope per actor behaves the same, only costs more
  if (!scope) {
    scope = createScope(node);
    scopes.set(node, scope);
  }
  return scope;
}

function createScope(node: Node): StatemScope {
  let current: ScopedActor | undefined;
  // Stryker disable next-line ArrayDeclaration: begin() replaces it before any action is collected
  let collected: CollectedAction[] = [];
  const target = () => {
    const process = scope.executing ?? current;
    // Stryker disable next-line ConditionalExpression,StringLiteral: a guard that cannot fire: effects run only inside a step
    if (!process) throw new Error('Governor: an XState effect ran outside any actor step');
    return process;
  };
  const unsupported = (feature: string, instead: string) => () => {
    throw new UnsupportedMachineFeatureError(feature, instead);
  };
  const relay = unsupported('sendTo/sendParent/forwardTo', 'use castTo, sendInfo or callTo from governor');
  const system = {
    // Only microsteps are kept (their transitions show which states were re-entered), and only
    // within a step: they are cleared when the next one begins.
    _sendInspectionEvent: (event: { type: string }) => {
      // Stryker disable next-line ConditionalExpression,LogicalOperator: memory only: a machine's transition reports nothing but microsteps, and begin() drops those kept outside a step
      if (current && event.type === '@xstate.microstep') scope.microsteps.push(event as Microstep);
    },
    // Stryker disable next-line ArrowFunction: ids are booked only for XState children, which _register refuses
    _bookId: () => SCOPE_ID,
    _register: unsupported('spawning XState children', 'start children under a supervisor'),
    _unregister: () => {},
    _relay: relay,
    get: () => undefined,
    // Stryker disable next-line ArrowFunction: nothing reads the (empty) XState system of a Governor actor
    getAll: () => ({}),
    scheduler: {
      // XState schedules a delayed `raise` (and `after`) as (self, self) and a delayed `sendTo` as
      // (self, its target). Only the first is this actor's timer: a delayed event for anybody else
      // is refused as an undelayed `sendTo` is by `_relay`, never delivered to the sender.
      // XState leaves `id` undefined for a delayed `raise` without one (its own scheduler then
      // makes up a random one), so unnamed delays must not share a timer.
      schedule: (_source: unknown, to: unknown, event: EventObject, delay: number, id: string | undefined) =>
        to === self ? target().scheduleDelayed(id, delay, event) : relay(),
      cancel: (_source: unknown, id: string) => target().cancelDelayed(id),
      cancelAll: () => {},
    },
  };
  const self = { id: SCOPE_ID, sessionId: SCOPE_ID, system, send: unsupported('self.send', 'use nextEvent or castTo') };
  const scope = {
    self,
    id: SCOPE_ID,
    sessionId: SCOPE_ID,
    system,
    logger: (...args: unknown[]) => node.logger.info({ args }, 'machine log'),
    defer: (fn: () => void) => fn(),
    emit: (event: EventObject) => target().effect(event),
    stopChild: unsupported('stopping XState children', 'terminate children through their supervisor'),
    actionExecutor: (action: CollectedAction) => {
      collected.push(action);
    },
    executing: undefined as ScopedActor | undefined,
    microsteps: [] as Microstep[],
    begin(process: ScopedActor): CollectedAction[] {
      current = process;
      collected = [];
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut: emptying an empty list changes nothing
      if (scope.microsteps.length > 0) scope.microsteps.length = 0;
      return collected;
    },
    // Stryker disable next-line BlockStatement: only hygiene: an effect or microstep outside a step never comes (see target() and _sendInspectionEvent), and begin() resets both
    end(): void {
      current = undefined;
    },
  };
  return scope;
}
