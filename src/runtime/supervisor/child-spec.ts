import { GovernorError } from '../../errors.ts';
import type { Node } from '../node.ts';
import type { Pid } from '../pid.ts';

export type RestartType = 'permanent' | 'transient' | 'temporary';
export type Shutdown = 'brutal_kill' | 'infinity' | number;
export type ChildType = 'worker' | 'supervisor';
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/** What a child's `start` gets: the node, and the supervisor it must link to. */
export interface StartContext {
  readonly node: Node;
  readonly supervisor: Pid;
}

/**
 * A child, as in OTP. `start` creates the child linked to `ctx.supervisor` and returns its pid,
 * or `'ignore'`; a throw is a failed start. Under `simple_one_for_one` it also gets the arguments
 * given to `startChild`.
 */
export interface ChildSpec {
  id: string;
  start: (ctx: StartContext, ...args: any[]) => Pid | 'ignore';
  /** @default 'permanent' */
  restart?: RestartType;
  /** @default 5000 for a worker, 'infinity' for a supervisor */
  shutdown?: Shutdown;
  /** @default 'worker' */
  type?: ChildType;
  /** Its own exit can end the supervisor (see `autoShutdown`). @default false */
  significant?: boolean;
}

export type NormalizedChildSpec = Required<ChildSpec>;

/** Restart backoff, beyond OTP (as Akka's `restartWithBackoff`). */
export interface BackoffOptions {
  /** First delay. */
  minMs: number;
  /** Largest delay. */
  maxMs: number;
  /** Random extra, as a fraction of the delay (0.2 = up to 20 % more). @default 0 */
  jitter?: number;
  /** A child that ran this long before crashing starts again from `minMs`. @default maxMs */
  resetAfterMs?: number;
}

export interface SupervisorSpec {
  /** @default 'one_for_one' */
  strategy?: Strategy;
  /** Restarts allowed within `period`. @default 1 */
  intensity?: number;
  /** Seconds, as in OTP. @default 5 */
  period?: number;
  /** @default 'never' */
  autoShutdown?: AutoShutdown;
  backoff?: BackoffOptions;
  /** Started left to right; under `simple_one_for_one`, exactly one template. */
  children: ChildSpec[];
}

export interface NormalizedSupervisorSpec {
  strategy: Strategy;
  intensity: number;
  periodMs: number;
  autoShutdown: AutoShutdown;
  backoff: Required<BackoffOptions> | undefined;
  children: NormalizedChildSpec[];
}

/** One reason a spec is wrong: the field and what is wrong with it. */
export interface SpecProblem {
  readonly where: string;
  readonly problem: string;
}

/** A child or supervisor spec failed {@link checkChildSpecs} / {@link checkSupervisorSpec}. */
export class InvalidSpecError extends GovernorError {
  constructor(readonly problems: readonly SpecProblem[]) {
    super('INVALID_SPEC', `invalid supervisor spec: ${problems.map((p) => `${p.where}: ${p.problem}`).join('; ')}`);
  }
}

const RESTARTS: readonly string[] = ['permanent', 'transient', 'temporary'];
const STRATEGIES: readonly string[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const AUTO_SHUTDOWNS: readonly string[] = ['never', 'any_significant', 'all_significant'];

/**
 * Checks child specs field by field, as OTP's `supervisor:check_childspecs/2`, and returns every
 * problem found (empty when they are valid). `autoShutdown` matters: `significant` children are
 * invalid under `never`.
 */
export function checkChildSpecs(specs: readonly unknown[], autoShutdown: AutoShutdown = 'never'): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const ids = new Set<string>();
  specs.forEach((raw, index) => {
    const spec = raw as Partial<ChildSpec> | null;
    const at = `children[${index}]`;
    if (typeof spec !== 'object' || spec === null) return void problems.push({ where: at, problem: 'must be an object' });
    if (typeof spec.id !== 'string' || spec.id.length === 0) problems.push({ where: `${at}.id`, problem: 'must be a non-empty string' });
    else if (ids.has(spec.id)) problems.push({ where: `${at}.id`, problem: `duplicate id "${spec.id}"` });
    else ids.add(spec.id);
    if (typeof spec.start !== 'function') problems.push({ where: `${at}.start`, problem: 'must be a function returning a pid or "ignore"' });
    if (spec.restart !== undefined && !RESTARTS.includes(spec.restart)) {
      problems.push({ where: `${at}.restart`, problem: `must be one of ${RESTARTS.join(', ')}` });
    }
    const shutdown = spec.shutdown;
    if (
      shutdown !== undefined &&
      shutdown !== 'brutal_kill' &&
      shutdown !== 'infinity' &&
      // Number.isInteger is false for anything not a number, so no typeof is needed.
      !(Number.isInteger(shutdown) && shutdown >= 0)
    ) {
      problems.push({ where: `${at}.shutdown`, problem: 'must be "brutal_kill", "infinity" or a whole number of ms ≥ 0' });
    }
    if (spec.type !== undefined && spec.type !== 'worker' && spec.type !== 'supervisor') {
      problems.push({ where: `${at}.type`, problem: 'must be "worker" or "supervisor"' });
    }
    if (spec.significant !== undefined && typeof spec.significant !== 'boolean') {
      problems.push({ where: `${at}.significant`, problem: 'must be a boolean' });
    } else if (spec.significant) {
      if ((spec.restart ?? 'permanent') === 'permanent') {
        problems.push({ where: `${at}.significant`, problem: 'a permanent child cannot be significant (use transient or temporary)' });
      }
      if (autoShutdown === 'never') {
        problems.push({ where: `${at}.significant`, problem: 'significant children need autoShutdown any_significant or all_significant' });
      }
    }
  });
  return problems;
}

export function normalizeChildSpec(spec: ChildSpec): NormalizedChildSpec {
  const type = spec.type ?? 'worker';
  return {
    id: spec.id,
    start: spec.start,
    restart: spec.restart ?? 'permanent',
    shutdown: spec.shutdown ?? (type === 'supervisor' ? 'infinity' : 5_000),
    type,
    significant: spec.significant ?? false,
  };
}

/** Validates a whole supervisor spec and fills in OTP's defaults; throws {@link InvalidSpecError}. */
export function checkSupervisorSpec(spec: SupervisorSpec): NormalizedSupervisorSpec {
  const problems: SpecProblem[] = [];
  if (typeof spec !== 'object' || spec === null) throw new InvalidSpecError([{ where: 'spec', problem: 'must be an object' }]);
  const strategy = spec.strategy ?? 'one_for_one';
  const intensity = spec.intensity ?? 1;
  const period = spec.period ?? 5;
  const autoShutdown = spec.autoShutdown ?? 'never';
  if (!STRATEGIES.includes(strategy)) problems.push({ where: 'strategy', problem: `must be one of ${STRATEGIES.join(', ')}` });
  if (!Number.isInteger(intensity) || intensity < 0) problems.push({ where: 'intensity', problem: 'must be a whole number ≥ 0' });
  // Number.isFinite is false for anything not a number ('5' included: it does not coerce).
  if (!Number.isFinite(period) || !(period > 0)) problems.push({ where: 'period', problem: 'must be a number of seconds > 0' });
  if (!AUTO_SHUTDOWNS.includes(autoShutdown)) problems.push({ where: 'autoShutdown', problem: `must be one of ${AUTO_SHUTDOWNS.join(', ')}` });
  else if (strategy === 'simple_one_for_one' && autoShutdown !== 'never') {
    // OTP's {bad_combination, [{auto_shutdown, _}, {strategy, simple_one_for_one}]}: dynamic
    // children come and go by design, so one of them ending is no reason to end the supervisor.
    problems.push({ where: 'autoShutdown', problem: `bad combination: ${autoShutdown} with simple_one_for_one (use never)` });
  }
  if (!Array.isArray(spec.children)) problems.push({ where: 'children', problem: 'must be an array of child specs' });
  else {
    problems.push(...checkChildSpecs(spec.children, autoShutdown));
    if (strategy === 'simple_one_for_one' && spec.children.length !== 1) {
      problems.push({ where: 'children', problem: 'simple_one_for_one takes exactly one child spec, the template' });
    }
  }
  const backoff = spec.backoff;
  if (backoff !== undefined && (typeof backoff !== 'object' || backoff === null)) {
    problems.push({ where: 'backoff', problem: 'must be an object { minMs, maxMs, jitter?, resetAfterMs? }' });
  } else if (backoff !== undefined) {
    const { minMs, maxMs } = backoff;
    if (!(typeof minMs === 'number' && minMs >= 0 && typeof maxMs === 'number' && maxMs >= minMs)) {
      problems.push({ where: 'backoff', problem: 'needs 0 ≤ minMs ≤ maxMs' });
    }
    // typeof first: '0.5' or true compare as numbers, and would be coerced in every delay.
    if (backoff.jitter !== undefined && !(typeof backoff.jitter === 'number' && backoff.jitter >= 0 && backoff.jitter <= 1)) {
      problems.push({ where: 'backoff.jitter', problem: 'must be a number between 0 and 1' });
    }
    if (backoff.resetAfterMs !== undefined && !(typeof backoff.resetAfterMs === 'number' && backoff.resetAfterMs >= 0)) {
      problems.push({ where: 'backoff.resetAfterMs', problem: 'must be a number of ms ≥ 0' });
    }
  }
  if (problems.length > 0) throw new InvalidSpecError(problems);
  return {
    strategy,
    intensity,
    periodMs: period * 1000,
    autoShutdown,
    backoff: backoff && {
      minMs: backoff.minMs,
      maxMs: backoff.maxMs,
      jitter: backoff.jitter ?? 0,
      resetAfterMs: backoff.resetAfterMs ?? backoff.maxMs,
    },
    children: spec.children.map(normalizeChildSpec),
  };
}
