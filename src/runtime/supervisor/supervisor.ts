import type { CallEnvelope, Envelope } from '../envelope.ts';
import { StartError } from '../errors.ts';
import { KILL, formatReason, isCleanExit, type ExitReason } from '../exit-reason.ts';
import type { Node } from '../node.ts';
import { isPid, type Pid } from '../pid.ts';
import { Process } from '../process.ts';
import {
  InvalidSpecError,
  checkChildSpecs,
  checkSupervisorSpec,
  normalizeChildSpec,
  type ChildSpec,
  type ChildType,
  type NormalizedChildSpec,
  type NormalizedSupervisorSpec,
  type SupervisorSpec,
} from './child-spec.ts';
import { addRestart, backoffDelay } from './restart-intensity.ts';

/** A child slot: its spec and its current incarnation. */
interface Child {
  readonly spec: NormalizedChildSpec;
  pid: Pid | 'restarting' | undefined;
  /** `simple_one_for_one`: the arguments it was started with, reused on restart. */
  readonly args: readonly unknown[];
  restarts: number;
  startedAt: number;
  /** Consecutive backoff attempts. */
  attempt: number;
  /** Token of a pending delayed restart, so a stale one is ignored. */
  retryToken: number;
}

/** A row of {@link whichChildren}. */
export interface ChildInfo {
  readonly id: string;
  readonly pid: Pid | 'restarting' | undefined;
  readonly type: ChildType;
  readonly restarts: number;
}

export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/** The supervisor API's expected failures, as in OTP's `{error, …}` returns. */
export type SupervisorErrorTag =
  | 'running'
  | 'restarting'
  | 'not_found'
  | 'already_present'
  | 'already_started'
  | 'simple_one_for_one'
  | 'start_failed'
  | 'invalid_child_spec';

export type SupervisorResult<T = undefined> =
  | ({ ok: true } & (T extends undefined ? unknown : T))
  | { ok: false; error: SupervisorErrorTag; reason?: unknown; pid?: Pid };

type Request =
  | { type: 'supervisor.start_child'; spec?: ChildSpec; args?: unknown[] }
  | { type: 'supervisor.restart_child'; id: string }
  | { type: 'supervisor.terminate_child'; id: string | Pid }
  | { type: 'supervisor.delete_child'; id: string }
  | { type: 'supervisor.which_children' }
  | { type: 'supervisor.count_children' }
  | { type: 'supervisor.get_childspec'; id: string };

let retryTokens = 0;

/**
 * A supervisor process with OTP's semantics (`supervisor.erl`). It traps exits; every child
 * exit arrives as an `EXIT` message and is handled in mailbox order, so the supervisor is, as in
 * OTP, blocked while it starts or terminates children.
 *
 * Handling a child's exit, in order:
 * 1. Forget the pid. A temporary child is forgotten entirely; a transient one that ended cleanly
 *    (`normal`, `shutdown`, `{shutdown, _}`) keeps its spec and is not restarted.
 * 2. A significant child that ended by itself may end the supervisor (`autoShutdown`).
 * 3. Otherwise count a restart; more than `intensity` within `period` terminates every child
 *    in reverse start order and exits with `shutdown`, which the parent sees as a child exit.
 * 4. Restart by strategy (after the backoff delay, when configured); a child that fails to
 *    start is marked `restarting` and tried again through a message to itself, each attempt
 *    counting toward the intensity.
 */
export class SupervisorProcess extends Process {
  get kind(): 'supervisor' {
    return 'supervisor';
  }

  readonly spec: NormalizedSupervisorSpec;
  /** Children in start order (static strategies). */
  #children: Child[] = [];
  /** Every running child by pid; the only index `simple_one_for_one` needs. */
  readonly #byPid = new Map<Pid, Child>();
  #restartTimes: number[] = [];
  /**
   * Children restarted since this supervisor started, for metrics (`governor_supervisor_restarts_total`).
   * Unlike the intensity window it only grows.
   */
  restartsTotal = 0;
  /** Children waiting for a delayed or retried restart, by timer token. */
  readonly #retrying = new Map<number, Child>();
  /** The clock timers of delayed restarts, by token: cleared when the supervisor ends, so none outlives it. */
  readonly #retryTimers = new Map<number, unknown>();

  constructor(pid: Pid, node: Node, spec: NormalizedSupervisorSpec) {
    super(pid, node);
    this.spec = spec;
    this.trapExit = true;
  }

  get #dynamic(): boolean {
    return this.spec.strategy === 'simple_one_for_one';
  }

  /** Starts the static children left to right; on a failure stops those started and throws. */
  init(): void {
    if (this.#dynamic) return;
    for (const spec of this.spec.children) {
      const child = newChild(spec, []);
      const started = this.#start(child);
      if (started !== true) {
        this.#terminateAllNow();
        throw new StartError(`child "${spec.id}"`, started.reason);
      }
      if (child.pid === undefined && spec.restart === 'temporary') continue;
      this.#children.push(child);
    }
  }

  handle(envelope: Envelope): void | Promise<void> {
    switch (envelope.t) {
      case 'exit':
        if (envelope.from === this.parent) return this.#exit(envelope.reason);
        return this.#childExited(envelope.from, envelope.reason);
      case 'call':
        return this.#request(envelope);
      case 'timeout':
        return this.#retry(envelope.name, envelope.token);
      case 'stop':
        // supervisor:stop: children go in reverse start order, each as its spec says, then it exits.
        return this.#exit(envelope.reason);
      default:
        return; // supervisors take no casts or plain messages
    }
  }

  // ── child exits ────────────────────────────────────────────────────────────────────────────

  #childExited(pid: Pid, reason: ExitReason): void | Promise<void> {
    const child = this.#byPid.get(pid);
    if (!child) return; // not (or no longer) ours: an exit we caused, or a stray link
    this.#byPid.delete(pid);
    child.pid = undefined;
    const { restart, significant } = child.spec;
    const finished = restart === 'temporary' || (restart === 'transient' && isCleanExit(reason));
    if (finished) {
      if (restart === 'temporary' || this.#dynamic) this.#forget(child);
      if (significant && this.#autoShutdownDue()) return this.#exit('shutdown');
      return;
    }
    return this.#restartAfterCrash(child);
  }

  #autoShutdownDue(): boolean {
    if (this.spec.autoShutdown === 'any_significant') return true;
    if (this.spec.autoShutdown === 'all_significant') {
      return !this.#all().some((c) => c.spec.significant && c.pid !== undefined);
    }
    return false;
  }

  /** Counts the restart against the intensity, then restarts now or after the backoff delay. */
  #restartAfterCrash(child: Child): void | Promise<void> {
    if (this.#overIntensity()) return this.#exit('shutdown');
    const backoff = this.spec.backoff;
    if (!backoff) return this.#restart(child);
    const now = this.node.clock.now();
    if (now - child.startedAt >= backoff.resetAfterMs) child.attempt = 0;
    const delay = backoffDelay(child.attempt++, backoff, this.node.random);
    this.#scheduleRetry(child, delay);
  }

  #overIntensity(): boolean {
    const step = addRestart(this.#restartTimes, this.node.clock.now(), this.spec.intensity, this.spec.periodMs);
    this.#restartTimes = step.restarts;
    if (step.exceeded) this.node.logger.error({ supervisor: this.pid }, 'reached_max_restart_intensity');
    return step.exceeded;
  }

  /** Restarts `child` and whatever the strategy takes down with it. */
  /**
   * Restarts `child` and whatever the strategy takes down with it. Synchronous unless siblings
   * must be shut down first (one_for_all, rest_for_one): a one_for_one or simple_one_for_one
   * restart leaves the supervisor free at once, so a dynamic child can be started right after.
   */
  #restart(child: Child): void | Promise<void> {
    child.restarts++;
    this.restartsTotal++;
    switch (this.spec.strategy) {
      case 'one_for_all':
        return this.#terminateAll((c) => c !== child).then(() => this.#startAll(child, [...this.#children]));
      case 'rest_for_one': {
        const index = this.#children.indexOf(child);
        return this.#terminateAll((c) => this.#children.indexOf(c) > index).then(() => this.#startAll(child, this.#children.slice(index)));
      }
      default:
        return this.#startAll(child, [child]);
    }
  }

  /** Starts, in order, those of `toStart` that are not running; a failure is retried later. */
  #startAll(child: Child, toStart: readonly Child[]): void | Promise<void> {
    for (const next of toStart) {
      if (next.pid !== undefined && next.pid !== 'restarting') continue;
      if (next !== child && next.pid === undefined) next.restarts++;
      const started = this.#start(next);
      if (started !== true) {
        this.node.logger.error({ supervisor: this.pid, child: next.spec.id, reason: formatReason(started.reason) }, 'restart failed, retrying');
        const backoff = this.spec.backoff;
        if (!backoff) return this.#scheduleRetry(next, 0);
        if (this.#overIntensity()) return this.#exit('shutdown');
        return this.#scheduleRetry(next, backoffDelay(next.attempt++, backoff, this.node.random));
      }
    }
  }

  #scheduleRetry(child: Child, delay: number): void {
    child.pid = 'restarting';
    const token = ++retryTokens;
    child.retryToken = token;
    const self = this.pid;
    const node = this.node;
    const retry = () => node.deliver({ t: 'timeout', to: self, name: child.spec.id, token });
    this.#retrying.set(token, child);
    if (delay === 0) retry();
    else this.#retryTimers.set(token, node.clock.setTimeout(retry, delay));
  }

  #retry(_id: string, token: number): void | Promise<void> {
    const child = this.#retrying.get(token);
    this.#retrying.delete(token);
    this.#retryTimers.delete(token);
    if (!child || child.retryToken !== token || child.pid !== 'restarting') return;
    // A delayed restart after backoff was already counted; an immediate retry of a failed start counts again.
    if (!this.spec.backoff && this.#overIntensity()) return this.#exit('shutdown');
    child.pid = undefined;
    return this.#restart(child);
  }

  /** Drops a pending restart and its timer: the child was stopped meanwhile. */
  #cancelRetry(token: number): void {
    const timer = this.#retryTimers.get(token);
    if (timer !== undefined) this.node.clock.clearTimeout(timer);
    this.#retryTimers.delete(token);
    this.#retrying.delete(token);
  }

  // ── starting and stopping children ─────────────────────────────────────────────────────────

  #start(child: Child): true | { reason: unknown } {
    let pid: Pid | 'ignore';
    try {
      pid = child.spec.start({ node: this.node, supervisor: this.pid }, ...child.args);
    } catch (error) {
      return { reason: error instanceof StartError ? error.reason : error };
    }
    if (pid === 'ignore') {
      child.pid = undefined;
      return true;
    }
    if (!isPid(pid)) {
      return { reason: new TypeError(`start of child "${child.spec.id}" must return a pid or "ignore", got ${formatReason(pid)}`) };
    }
    child.pid = pid;
    child.startedAt = this.node.clock.now();
    this.#byPid.set(pid, child);
    this.node.link(this.pid, pid);
    const process = this.node.processOf(pid);
    if (process) process.restarts = child.restarts;
    return true;
  }

  /** Shuts one child down as its spec says: kill, or `shutdown` then kill after the timeout. */
  async #terminate(child: Child): Promise<void> {
    const pid = child.pid;
    child.pid = undefined;
    if (pid === 'restarting') return this.#cancelRetry(child.retryToken);
    if (pid === undefined) return;
    this.#byPid.delete(pid);
    const node = this.node;
    node.unlink(this.pid, pid);
    if (!node.isAlive(pid)) return;
    const shutdown = child.spec.shutdown;
    if (shutdown === 'brutal_kill') return node.exit(pid, KILL, this.pid);
    let down!: () => void;
    const gone = new Promise<void>((resolve) => (down = resolve));
    node.monitor(pid, () => down());
    node.exit(pid, 'shutdown', this.pid);
    if (!node.isAlive(pid)) return; // the usual case: it did not trap exits and is gone already
    const timer = shutdown === 'infinity' ? undefined : node.clock.setTimeout(() => node.exit(pid, KILL, this.pid), shutdown);
    await gone;
    if (timer !== undefined) node.clock.clearTimeout(timer);
  }

  /** Terminates the matching children in reverse start order (dynamic ones all at once); temporary ones are forgotten. */
  async #terminateAll(which: (child: Child) => boolean = () => true): Promise<void> {
    if (this.#dynamic) {
      await Promise.all([...this.#byPid.values()].filter(which).map((child) => this.#terminate(child)));
      return;
    }
    for (const child of [...this.#children].reverse()) {
      if (!which(child)) continue;
      await this.#terminate(child);
      if (child.spec.restart === 'temporary') this.#forget(child);
    }
  }

  /** A failed start rolls back at once: nothing it started may outlive it. */
  #terminateAllNow(): void {
    for (const child of [...this.#children].reverse()) {
      if (child.pid === undefined || child.pid === 'restarting') continue;
      this.node.unlink(this.pid, child.pid);
      this.node.exit(child.pid, 'shutdown', this.pid);
      if (this.node.isAlive(child.pid)) this.node.exit(child.pid, KILL, this.pid);
    }
    this.#children = [];
    this.#byPid.clear();
  }

  async #exit(reason: ExitReason): Promise<void> {
    await this.#terminateAll();
    this.node._terminate(this, reason);
  }

  #forget(child: Child): void {
    const index = this.#children.indexOf(child);
    if (index >= 0) this.#children.splice(index, 1);
  }

  #all(): Child[] {
    if (!this.#dynamic) return this.#children;
    const restarting = new Set([...this.#retrying.values()].filter((c) => c.pid === 'restarting'));
    return [...this.#byPid.values(), ...restarting];
  }

  #find(id: string): Child | undefined {
    return this.#children.find((c) => c.spec.id === id);
  }

  // ── the API, as calls ──────────────────────────────────────────────────────────────────────

  async #request(envelope: CallEnvelope): Promise<void> {
    const result = await this.#answer(envelope.event as Request);
    this.node.route({ t: 'reply', to: envelope.from, value: result });
  }

  async #answer(request: Request): Promise<unknown> {
    switch (request.type) {
      case 'supervisor.start_child':
        return this.#startChild(request);
      case 'supervisor.restart_child': {
        if (this.#dynamic) return fail('simple_one_for_one');
        const child = this.#find(request.id);
        if (!child) return fail('not_found');
        if (child.pid === 'restarting') return fail('restarting');
        if (child.pid !== undefined) return fail('running');
        const started = this.#start(child);
        return started === true ? { ok: true, pid: child.pid } : fail('start_failed', started.reason);
      }
      case 'supervisor.terminate_child': {
        if (this.#dynamic && !isPid(request.id)) return fail('simple_one_for_one');
        const child = this.#dynamic ? this.#byPid.get(request.id as Pid) : this.#find(request.id);
        // OTP answers ok for a pid that is no longer alive: the caller wanted it gone, and it is
        // (a dynamic child that exited by itself is forgotten, so it is not found any more).
        if (!child && this.#dynamic && !this.node.isAlive(request.id as Pid)) return { ok: true };
        if (!child) return fail('not_found');
        await this.#terminate(child);
        if (child.spec.restart === 'temporary' || this.#dynamic) this.#forget(child);
        return { ok: true };
      }
      case 'supervisor.delete_child': {
        if (this.#dynamic) return fail('simple_one_for_one');
        const child = this.#find(request.id);
        if (!child) return fail('not_found');
        if (child.pid === 'restarting') return fail('restarting');
        if (child.pid !== undefined) return fail('running');
        this.#forget(child);
        return { ok: true };
      }
      case 'supervisor.which_children':
        return this.whichChildren();
      case 'supervisor.count_children':
        return this.countChildren();
      case 'supervisor.get_childspec': {
        const child = this.#dynamic ? this.#byPid.get(request.id as Pid) ?? undefined : this.#find(request.id);
        const spec = child?.spec ?? (this.#dynamic && request.id === this.spec.children[0]?.id ? this.spec.children[0] : undefined);
        return spec ? { ok: true, spec } : fail('not_found');
      }
      default:
        return fail('not_found', `unknown supervisor request ${(request as { type: string }).type}`);
    }
  }

  #startChild(request: { spec?: ChildSpec; args?: unknown[] }): SupervisorResult<{ pid: Pid | undefined }> {
    if (this.#dynamic) {
      const child = newChild(this.spec.children[0]!, request.args ?? []);
      const started = this.#start(child);
      if (started !== true) return fail('start_failed', started.reason);
      return { ok: true, pid: child.pid as Pid | undefined };
    }
    const spec = request.spec;
    const problems = checkChildSpecs([spec], this.spec.autoShutdown);
    if (problems.length > 0) return fail('invalid_child_spec', new InvalidSpecError(problems).message);
    const existing = this.#find(spec!.id);
    if (existing) {
      return existing.pid !== undefined && existing.pid !== 'restarting'
        ? { ok: false, error: 'already_started', pid: existing.pid }
        : fail('already_present');
    }
    const child = newChild(normalizeChildSpec(spec!), []);
    const started = this.#start(child);
    if (started !== true) return fail('start_failed', started.reason);
    if (child.pid !== undefined || child.spec.restart !== 'temporary') this.#children.push(child);
    return { ok: true, pid: child.pid as Pid | undefined };
  }

  /**
   * Starts a `simple_one_for_one` child at once, for a caller on this node that cannot wait for
   * a reply (an entity host spawning on a first message, inside a delivery). The effect is that
   * of `startChild`; `undefined` when the supervisor is busy shutting children down, is not
   * dynamic, or the start failed (the reason is logged).
   */
  startChildNow(args: unknown[]): Pid | undefined {
    if (!this.#dynamic || this.busy || !this.alive) return undefined;
    const result = this.#startChild({ args });
    // Rendered: pino serialises an Error only under `err`, and would log this reason as {}.
    if (!result.ok) this.node.logger.error({ supervisor: this.pid, reason: formatReason(result.reason) }, 'dynamic child failed to start');
    return result.ok ? result.pid : undefined;
  }

  // ── introspection ──────────────────────────────────────────────────────────────────────────

  whichChildren(): ChildInfo[] {
    return this.#all().map((c) => ({ id: c.spec.id, pid: c.pid, type: c.spec.type, restarts: c.restarts }));
  }

  countChildren(): ChildCounts {
    const all = this.#all();
    const counts: ChildCounts = { specs: this.#dynamic ? 1 : all.length, active: 0, supervisors: 0, workers: 0 };
    for (const child of all) {
      if (child.pid !== undefined && child.pid !== 'restarting') counts.active++;
      if (child.spec.type === 'supervisor') counts.supervisors++;
      else counts.workers++;
    }
    return counts;
  }

  cleanup(): void {
    // Children are terminated before the supervisor exits; a `kill` of the supervisor leaves
    // them to their links, which carry the `killed` signal to each of them. A pending delayed
    // restart would only find the supervisor gone, but its timer would hold the clock (and a
    // real clock's event loop) for up to maxMs.
    for (const timer of this.#retryTimers.values()) this.node.clock.clearTimeout(timer);
    this.#retryTimers.clear();
    this.#retrying.clear();
  }

  getState(): unknown {
    return { strategy: this.spec.strategy, children: this.whichChildren(), restarts: this.#restartTimes.length };
  }

  stateValue(): unknown {
    return this.spec.strategy;
  }
}

function newChild(spec: NormalizedChildSpec, args: readonly unknown[]): Child {
  return { spec, pid: undefined, args, restarts: 0, startedAt: 0, attempt: 0, retryToken: 0 };
}

function fail(error: SupervisorErrorTag, reason?: unknown): { ok: false; error: SupervisorErrorTag; reason?: unknown } {
  return reason === undefined ? { ok: false, error } : { ok: false, error, reason };
}

/**
 * Starts a supervisor and its children (left to right). Throws {@link InvalidSpecError} for a bad
 * spec and {@link StartError} when a child fails to start, after stopping the ones started.
 *
 * @example
 * const sup = startSupervisor(node, {
 *   strategy: 'one_for_one', intensity: 3, period: 5,
 *   children: [worker('door', doorMachine), worker('alarm', alarmMachine)],
 * }, { name: 'security' });
 */
export function startSupervisor(
  node: Node,
  spec: SupervisorSpec,
  options: { name?: string; link?: Pid } = {},
): Pid {
  const normalized = checkSupervisorSpec(spec);
  const process = node._spawnProcess((pid) => new SupervisorProcess(pid, node, normalized), { ...options, trapExit: true });
  try {
    node.run(() => process.init());
  } catch (error) {
    if (options.link !== undefined) node.unlink(process.pid, options.link);
    node._terminate(process, error instanceof StartError ? { shutdown: error.reason } : error);
    throw error;
  }
  return process.pid;
}
