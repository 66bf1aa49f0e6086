import { createActor, type ActorScope, type AnyStateMachine, type AnyTransitionDefinition, type StateMachine } from 'xstate';
import type { GovernorKind, LifecycleEvent, ReplyStatus } from '../governor-protocol.ts';
import { NO_RECORDS, type Decide, type Decision, type Facts, type GovernorDefinition, type RecordLookup, type TimeoutRule } from './governor-kit.ts';

/**
 * A governor's domain written out as an XState machine: its states, its lifecycle events as
 * transitions (named guards and actions), and its state timeouts as `timeout` transitions. The
 * two-phase protocol (`governor-kit.ts`) asks this machine, never a hand-written switch:
 *
 * 1. `prepare` resolves the governor's current state and data into a snapshot of this machine,
 *    runs XState's pure `transition()` on the event, and keeps what it leads to as the pending
 *    outcome; `commit` adopts it and `abort` drops it. So the decision *is* the machine.
 * 2. The transition that takes an event says what came of it in `outcome` (applied, rejected or
 *    not applicable, with a reason); an event no transition takes is not applicable. A refusal
 *    never moves: its transitions have no target.
 * 3. A state's timeout is the `timeout` transition of its state node (the target and the data
 *    after it); how long it waits and on which clock stays with the governor's
 *    {@link DomainTiming}, since the runtime, not the machine, arms timers.
 *
 * Only `assign` actions are allowed: `transition()` is pure, it would return any other action
 * unexecuted.
 */

/** What the event a domain transition took came to. */
export interface Outcome {
  readonly status: ReplyStatus;
  readonly reason?: string;
  readonly facts?: Facts;
  /** Records the commit writes with an applied change (`Decision.records`). */
  readonly records?: Readonly<Record<string, unknown>>;
}

/** The context of every domain machine: the governor's data, and the outcome of the event just taken. */
export interface DomainContext<D> {
  readonly customerId: string;
  readonly data: D;
  /** `null` until a transition sets it; the protocol resolves every snapshot with `null`. */
  readonly outcome: Outcome | null;
  /** The committed records the decision may read (`GovernorDefinition.recordKeys`). */
  readonly records: RecordLookup;
}

/**
 * A lifecycle event of one type, as a domain machine's event: the envelope every event has, and
 * the fields the machine reads (`unknown`: checked by its guards, since events come from outside).
 */
export type DomainEvent<T extends string, F extends Record<string, unknown> = Record<never, never>> = {
  readonly type: T;
  readonly eventId: string;
  readonly customerId: string;
  readonly occurredAt: string;
} & { readonly [K in keyof F]?: F[K] };

/** The current state's timer firing, as the domain machine sees it. */
export interface DomainTimeout {
  readonly type: 'timeout';
}

/** How long a timed state waits and on which clock (the rest of a {@link TimeoutRule} is the machine's). */
export type DomainTiming<D> = Pick<TimeoutRule<string, D>, 'ms' | 'clock' | 'deadline'>;

/** The shape the protocol needs of a domain machine: any machine over {@link DomainContext}. */
export type DomainMachine<D> = StateMachine<DomainContext<D>, any, any, any, any, any, any, any, any, any, any, any, any, any>;

/** The outcomes, as assignments for a domain machine's named actions. */
export const outcome = {
  applied: { status: 'applied' } as Outcome,
  rejected: (reason: string): Outcome => ({ status: 'rejected', reason }),
  notApplicable: (reason: string): Outcome => ({ status: 'not_applicable', reason }),
};

/** A domain machine's context in a state whose data is `data` (the protocol resolves every snapshot with its own). */
export function domainContext<D>(data: D, customerId = ''): DomainContext<D> {
  return { customerId, data, outcome: null, records: NO_RECORDS };
}

/** The rest of a governor besides its machine: what the protocol and the runtime need. */
export type DomainSpec<S extends string, D> = Omit<GovernorDefinition<S, D>, 'states' | 'initial' | 'decide' | 'targets' | 'timeouts' | 'kind'> & {
  readonly kind: GovernorKind;
  readonly timing?: Readonly<Partial<Record<S, DomainTiming<D>>>>;
};

/**
 * A governor definition whose domain is `machine`: states, initial state, commit targets,
 * decisions and timeouts all read from it.
 *
 * @example
 * export const multiTenantGovernor = governorFromMachine(multiTenantDomain, { kind: 'MultiTenant', init, timing, facts });
 */
export function governorFromMachine<S extends string, D>(machine: DomainMachine<D>, spec: DomainSpec<S, D>): GovernorDefinition<S, D> {
  const { timing, ...rest } = spec;
  const states = Object.keys(machine.root.states) as S[];
  const initial = initialOf<S>(machine);
  const step = pureStep(machine);
  // One resolved snapshot per state, its context swapped for each decision: resolving the state
  // (its state nodes, value and tags) again for every prepare was most of a snapshot's cost, and
  // a snapshot is a plain object XState itself copies this way (`cloneMachineSnapshot`).
  const resolved = new Map<S, ReturnType<DomainMachine<D>['resolveState']>>();
  const snapshotOf = (state: S, data: D, customerId: string, records: RecordLookup) => {
    const context: DomainContext<D> = { customerId, data, outcome: null, records };
    let base = resolved.get(state);
    // Resolved with no one's data: the cache outlives every customer.
    if (!base) resolved.set(state, (base = machine.resolveState({ value: state, context: domainContext(undefined as D) })));
    return { ...base, context };
  };

  const decide: Decide<S, D> = (state, data, event, customerId, records = NO_RECORDS) => {
    const next = step(snapshotOf(state, data, customerId, records), event);
    return decisionOf<S, D>(spec.kind, state, event, next);
  };

  const timeouts: Partial<Record<S, TimeoutRule<S, D>>> = {};
  for (const state of states) {
    const rule = timing?.[state];
    const timed = machine.root.states[state]!.transitions.get('timeout') ?? [];
    if (!rule !== (timed.length === 0)) {
      throw new Error(`${spec.kind}: state ${state} ${rule ? 'has a timing but no timeout transition' : 'has a timeout transition but no timing'}: give both or neither`);
    }
    if (!rule) continue;
    const to = soleTarget<S>(timed, `${spec.kind}: the timeout of ${state}`);
    timeouts[state] = {
      ...rule,
      to,
      update: (data) => {
        const next = step(snapshotOf(state, data, '', NO_RECORDS), { type: 'timeout' });
        return next.context.data;
      },
    };
  }
  return { ...rest, states, initial, decide, targets: commitTargets<S>(machine, states, new Set(Object.values<TimeoutRule<S, D> | undefined>(timeouts).map((rule) => rule?.to))), timeouts };
}

/** What a snapshot after an event says about it: the outcome its transition set, and where it leads. */
function decisionOf<S extends string, D>(kind: GovernorKind, state: S, event: LifecycleEvent, next: { readonly value: unknown; readonly context: DomainContext<D> }): Decision<S, D> {
  const said = next.context.outcome;
  if (!said) return { status: 'not_applicable', reason: `${kind} does not handle ${event.type} in ${state}` };
  if (said.status !== 'applied') {
    return { status: said.status, ...(said.reason !== undefined ? { reason: said.reason } : {}), ...(said.facts ? { facts: said.facts } : {}) };
  }
  return {
    status: 'applied',
    ...(said.reason !== undefined ? { reason: said.reason } : {}),
    ...(said.facts ? { facts: said.facts } : {}),
    ...(said.records ? { records: said.records } : {}),
    next: { state: String(next.value) as S, data: next.context.data },
  };
}

/**
 * XState's pure `transition()` for one machine, with the inert actor scope built once: `transition()`
 * builds one per call (an actor and a system, most of its cost), and a domain machine needs no
 * scope of its own, since it only assigns. Any other action is a bug in the machine: it would be
 * dropped here, so it throws.
 */
function pureStep<D>(machine: DomainMachine<D>) {
  type Snapshot = ReturnType<DomainMachine<D>['resolveState']>;
  let scope: ActorScope<Snapshot, { type: string }> | undefined;
  return (snapshot: Snapshot, event: { type: string }): Snapshot => {
    if (!scope) {
      const self = createActor(machine);
      scope = {
        self,
        system: self.system,
        id: '',
        sessionId: '',
        defer: () => {},
        logger: () => {},
        stopChild: () => {},
        emit: () => {},
        actionExecutor: (action) => {
          throw new Error(`${machine.id}: a domain machine may only assign, but a transition ran "${action.type}": move the effect to the protocol or the runtime`);
        },
      };
    }
    return machine.transition(snapshot, event, scope);
  };
}

function initialOf<S extends string>(machine: AnyStateMachine): S {
  const [target] = machine.root.initial.target;
  if (!target) throw new Error(`${machine.id}: a domain machine needs an initial state`);
  return target.key as S;
}

function soleTarget<S extends string>(transitions: readonly AnyTransitionDefinition[], what: string): S {
  const [only] = transitions;
  if (transitions.length !== 1 || !only || only.guard || only.target?.length !== 1) throw new Error(`${what} must be one unguarded transition with one target`);
  return only.target[0]!.key as S;
}

/**
 * The states a commit can move into (the protocol generates one commit transition each): every
 * target of a lifecycle transition, and a state entered by time that a lifecycle transition can
 * stay in (an event decided as of a deadline whose timer has not fired yet commits into it).
 * Nothing else, so the protocol has no commit transition nothing can take.
 */
function commitTargets<S extends string>(machine: AnyStateMachine, states: readonly S[], timed: ReadonlySet<S | undefined>): S[] {
  const targets = new Set<S>();
  for (const state of states) {
    for (const [type, transitions] of machine.root.states[state]!.transitions) {
      if (type === 'timeout') continue;
      for (const t of transitions) {
        if (t.target?.length) targets.add(t.target[0]!.key as S);
        else if (timed.has(state) && staysApplied(t)) targets.add(state);
      }
    }
  }
  return states.filter((state) => targets.has(state));
}

/** Whether a targetless transition can apply an event (a refusal's actions are only `reject` or `notApplicable`). */
function staysApplied(transition: AnyTransitionDefinition): boolean {
  return transition.actions.some((action) => {
    const type = typeof action === 'object' && action !== null && 'type' in action ? action.type : undefined;
    return type !== 'reject' && type !== 'notApplicable';
  });
}
