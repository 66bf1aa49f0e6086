import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from './clock.ts';
import { checkAddress, checkMessage, type Address, type CallerRef, type DownEnvelope, type Envelope, type Message } from './envelope.ts';
import { CallExitError, CallTimeoutError, NameTakenError, NoProcError, NoSuchNameError } from './errors.ts';
import { KILL, formatReason, type ExitReason } from './exit-reason.ts';
import { entityName, isEntityAddress, type EntityAddress } from './entity.ts';
import { isPid, makePid, nodeOfPid, type Pid } from './pid.ts';
import type { NodeEntities } from './node-entities.ts';
import type { ProcessRecord } from './process-record.ts';
import { Queue } from './queue.ts';
import { PidSet } from './pid-set.ts';
import type { StepHandler, StepWatcher, Transport, TransportEndpoint } from './transport.ts';

export type { NodeEntities } from './node-entities.ts';
export type { StepHandler, StepWatcher } from './transport.ts';

/** @default 5000 — as `gen_statem:call`'s usual timeout in OTP code. */
export const DEFAULT_CALL_TIMEOUT = 5_000;

/** Messages a process handles before yielding to others in the run queue (Erlang's reductions). */
const SLICE = 64;

/** One function for every step a {@link StepWatcher} runs, not a closure per message. */
const handleStep: StepHandler = (process, envelope) => process.handle(envelope);

export interface NodeOptions {
  /** Unique among the nodes sharing a transport. @default 'nonode' */
  name?: string;
  /** @default the system clock */
  clock?: Clock;
  /**
   * How envelopes reach other nodes. The kernel knows no concrete transport: `createNode` (the
   * package entry) gives a node without one a private in-memory transport; `new Node` needs one.
   * @default a private in-memory transport (through `createNode`)
   */
  transport?: Transport;
  /** @default a silent pino logger */
  logger?: Logger;
  /** Randomness (restart backoff jitter). @default Math.random */
  random?: () => number;
}

export interface CallOptions {
  /** Milliseconds, or `Infinity`. @default 5000 */
  timeout?: number;
}

interface PendingCall {
  onReply(value: unknown): void;
  /** `pid`: the process that went down, as its node named it (a monitor by `{name, node}` knows no pid before). */
  onDown(reason: ExitReason, pid?: Pid): void;
}

/** Counters of the node itself (not of any process). */
export interface NodeStatistics {
  processes: number;
  spawned: number;
  exited: number;
  /** Messages to processes that no longer exist (dropped, as in Erlang). */
  undelivered: number;
  /** Replies that arrived after their caller gave up (dropped). */
  lateReplies: number;
}

/**
 * A node: the process table, the name registry, the run queue, links, monitors and calls.
 *
 * Scheduling is run-to-completion: an entry point (a `cast` from outside, a timer, a transport
 * delivery) queues its work and then drains the run queue on its own stack before returning, as
 * XState's mailbox does. So after `node.cast(pid, event)` returns, the event has been handled,
 * unless the actor was busy or suspended; nothing waits on a tick. Work caused while draining is
 * only queued, never run re-entrantly, so no process ever sees another half-way through a step.
 *
 * Built with `createNode` (the package entry, which wires the default transport) or
 * `new Node({ transport })`.
 *
 * @example
 * const node = createNode();
 * const pid = spawnStatem(node, counterMachine);
 * node.cast(pid, { type: 'inc' });
 * await node.call(pid, { type: 'get' }); // → 1
 */
export class Node implements TransportEndpoint {
  readonly name: string;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly logger: Logger;
  readonly random: () => number;
  readonly #processes = new Map<Pid, ProcessRecord>();
  readonly #names = new Map<string, Pid>();
  readonly #pending = new Map<string, PendingCall>();
  readonly #runQueue = new Queue<ProcessRecord>();
  readonly #exitListeners = new Set<(pid: Pid, reason: ExitReason, process: ProcessRecord) => void>();
  #depth = 0;
  #serial = 0;
  #refSerial = 0;
  #busy = 0;
  #stopped = false;
  /** The entities this node hosts, once an `EntityHost` is created for it (see {@link NodeEntities}). */
  entities: NodeEntities | undefined;
  /** @internal see {@link StepWatcher}; none, the usual case, costs one check per message. */
  _stepWatcher: StepWatcher | undefined;
  readonly stats: NodeStatistics = { processes: 0, spawned: 0, exited: 0, undelivered: 0, lateReplies: 0 };

  constructor(options: NodeOptions & { transport: Transport }) {
    // A missing transport (or no options at all) is a caller's bug in plain JavaScript: say what to
    // do, not "attach of undefined" or "reading 'name' of undefined".
    if (options?.transport === undefined) {
      throw new TypeError('new Node(options) needs options.transport: use createNode(options) for a node with a private in-memory transport');
    }
    this.name = options.name ?? 'nonode';
    if (!/^[A-Za-z0-9_@:-]+$/.test(this.name)) {
      throw new TypeError(`node name "${this.name}" must use only letters, digits, "_", "@", ":" and "-"`);
    }
    this.clock = options.clock ?? systemClock;
    this.transport = options.transport;
    // Every line names the node it came from (a fleet's logs are read together); an actor is `actor`,
    // never `pid`, which is the OS process' id in pino's own bindings. A logger without `child` (a
    // test's stand-in) is used as it is.
    const logger = options.logger ?? pino({ level: 'silent' });
    this.logger = typeof logger.child !== 'function' || logger.bindings?.().node === this.name ? logger : logger.child({ node: this.name });
    this.random = options.random ?? Math.random;
    this.transport.attach(this);
  }

  // ── processes ──────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a process from a behaviour factory and, with `link`, links it to that pid before
   * anything can happen to either (spawn_link). The factory may throw: nothing is registered then.
   * @internal behaviours wrap this (`spawnStatem`, `startSupervisor`).
   */
  _spawnProcess<P extends ProcessRecord>(
    create: (pid: Pid) => P,
    options: { name?: string; link?: Pid; trapExit?: boolean } = {},
  ): P {
    return this.#entry(() => {
      if (options.name !== undefined) this.#checkName(options.name);
      const pid = makePid(this.name, ++this.#serial);
      const process = create(pid);
      process.trapExit = options.trapExit ?? process.trapExit;
      this.#processes.set(pid, process);
      this.stats.spawned++;
      this.stats.processes++;
      if (options.name !== undefined) this.#register(options.name, process);
      if (options.link !== undefined) {
        process.parent = options.link;
        this.link(pid, options.link);
      }
      return process;
    });
  }

  /** @internal the live process behind a local pid. */
  processOf(pid: Pid): ProcessRecord | undefined {
    return this.#processes.get(pid);
  }

  /** The name a local process is registered under (Erlang's `process_info(Pid, registered_name)`). */
  registeredName(pid: Pid): string | undefined {
    return this.#processes.get(pid)?.name;
  }

  isAlive(pid: Pid): boolean {
    return this.#processes.has(pid);
  }

  /** Every live local process (for tree walks and statistics). */
  processes(): IterableIterator<ProcessRecord> {
    return this.#processes.values();
  }

  // ── names ──────────────────────────────────────────────────────────────────────────────────

  register(name: string, pid: Pid): void {
    this.#checkName(name);
    const process = this.#processes.get(pid);
    if (!process) throw new NoProcError(pid);
    // Erlang: badarg when the process already has a name. Two names would outlive it: only the
    // latest is freed when it exits.
    if (process.name !== undefined) throw new NameTakenError(name, pid, process.name);
    this.#register(name, process);
  }

  unregister(name: string): boolean {
    const pid = this.#names.get(name);
    if (pid === undefined) return false;
    this.#names.delete(name);
    // A name always stands for a live process: an exit frees it (see _terminate).
    this.#processes.get(pid)!.name = undefined;
    return true;
  }

  whereis(name: string): Pid | undefined {
    return this.#names.get(name);
  }

  registered(): string[] {
    return [...this.#names.keys()];
  }

  // ── messages ───────────────────────────────────────────────────────────────────────────────

  /** Fire-and-forget gen_statem cast. `from` is the sending process, when there is one. */
  cast(to: Address, event: Message, from?: Pid): void {
    checkAddress(to);
    checkMessage(event);
    this.#entry(() => this.route({ t: 'cast', to, event, from }));
  }

  /** A plain message (Erlang's `!`), seen by a gen_statem actor as an `info` event. */
  send(to: Address, event: Message, from?: Pid): void {
    checkAddress(to);
    checkMessage(event);
    this.#entry(() => this.route({ t: 'info', to, event, from }));
  }

  /**
   * Request and reply. Rejects with {@link CallTimeoutError} when no reply comes in time (a later
   * reply is dropped) and with {@link CallExitError} when the callee dies first or does not exist.
   */
  call<T = unknown>(to: Address, event: Message, options: CallOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this._request(to, event, options.timeout ?? DEFAULT_CALL_TIMEOUT, (value) => resolve(value as T), reject);
    });
  }

  /**
   * @internal a call whose outcome arrives through callbacks, run synchronously inside the
   * delivery that settles it (the reply, the callee's exit, or the timeout). An actor's `callTo`
   * uses it, so the reply event reaches the actor within the same drain, in order with the rest
   * of its mail, and not a promise tick later.
   */
  _request(
    to: Address,
    event: Message,
    timeout: number,
    onReply: (value: unknown) => void,
    onError: (error: CallExitError | CallTimeoutError) => void,
  ): void {
    // As gen_statem:call's timeout(): a time ≥ 0 or infinity. NaN or a negative number would
    // otherwise wait forever or time out at once without a word: a bug of the caller's.
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
      throw new TypeError(`call timeout must be a number of milliseconds ≥ 0 or Infinity, got ${String(timeout)}`);
    }
    checkAddress(to);
    checkMessage(event);
    this.#entry(() => {
      const target = this.#resolveLocal(to);
      const label = typeof to === 'string' ? to : isEntityAddress(to) ? `${to.entity}/${to.key}` : `${to.name}@${to.node}`;
      if (target === null) return onError(new CallExitError(label, 'noproc'));
      const ref = this._newRef();
      const from: CallerRef = { node: this.name, ref };
      // An entity always exists (it is spawned or restored on arrival), so it is not monitored:
      // its call ends with the reply or the timeout, and there is no monitor to take down.
      const monitored = !isEntityAddress(to);
      let timer: unknown;
      const settle = (demonitor: boolean) => {
        this.#pending.delete(ref);
        // Stryker disable next-line ConditionalExpression: equivalent on the kernel's clocks (clearing no timer does nothing); it keeps a Clock of one's own from being handed a handle it never gave
        if (timer !== undefined) this.clock.clearTimeout(timer);
        // To where the monitor went: a remote callee (no local pid) must drop it too, or every
        // call it answered would leave one behind on it for good.
        if (demonitor && monitored) this.route({ t: 'demonitor', to: target ?? to, from, ref });
      };
      this.#pending.set(ref, {
        onReply: (value) => {
          settle(true);
          onReply(value);
        },
        onDown: (reason) => {
          settle(false);
          onError(new CallExitError(label, reason));
        },
      });
      if (Number.isFinite(timeout)) {
        timer = this.clock.setTimeout(() => {
          this.#entry(() => {
            // Stryker disable next-line ConditionalExpression: a settled call clears its timer, which then never fires (Clock's contract); this only guards a clock that fires late
            if (!this.#pending.has(ref)) return;
            settle(true);
            onError(new CallTimeoutError(label, timeout));
          });
        }, timeout);
      }
      if (monitored) this.route({ t: 'monitor', to: target ?? to, from, ref });
      this.route({ t: 'call', to: target ?? to, from, event });
    });
  }

  /** Replies to a caller (gen_statem's `{reply, From, Value}`); a caller that gave up is skipped. */
  reply(to: CallerRef, value: unknown): void {
    this.#entry(() => this.route({ t: 'reply', to, value }));
  }

  // ── links, monitors, exit signals ──────────────────────────────────────────────────────────

  /** Sends an exit signal: `'kill'` cannot be trapped; `'normal'` is ignored unless trapped. */
  exit(pid: Pid, reason: ExitReason, from?: Pid): void {
    // Without a sender the signal comes from the node itself (`<name.0>`, never a process), so a
    // `normal` exit is ignored as from any other process, and never read as the target's own.
    this.#entry(() => this.route({ t: 'exit', to: pid, from: from ?? makePid(this.name, 0), reason, linked: false }));
  }

  /** Links two processes; a link to a dead process sends `noproc` back at once. */
  link(a: Pid, b: Pid): void {
    if (a === b) return; // Erlang: a process linking to itself does nothing (else it would signal itself on exit)
    // Only pids can be linked: a bad address must be refused before either side records anything,
    // or the dead entry would break the exit protocol of the process that kept it.
    if (!isPid(a) || !isPid(b)) throw new TypeError(`link(${String(a)}, ${String(b)}): both ends must be pids`);
    this.#entry(() => {
      // The end that records the link first must be here and alive to hear of the other's exit:
      // from a local process that has exited, the link is made from the other end, which gets
      // noproc; with the first end on another node, from the local end, so both ends record it.
      const aHere = nodeOfPid(a) === this.name;
      const [from, to] = (aHere && !this.#processes.has(a)) || (!aHere && nodeOfPid(b) === this.name) ? [b, a] : [a, b];
      this.#addLink(from, to);
      this.route({ t: 'link', to, from });
    });
  }

  unlink(a: Pid, b: Pid): void {
    this.#entry(() => {
      this.processOf(a)?.links?.delete(b);
      this.route({ t: 'unlink', to: b, from: a });
    });
  }

  /**
   * Monitors `target` for `watcher`: a pid gets a `DOWN` event in its mailbox, a function is
   * called. A dead or unknown target gives `noproc` at once. Returns the monitor ref.
   */
  monitor(target: Address, watcher: Pid | ((down: DownEnvelope) => void)): string {
    checkAddress(target);
    return this.#entry(() => {
      const ref = this._newRef();
      const pid = this.#resolveLocal(target);
      if (typeof watcher === 'function') {
        const from: CallerRef = { node: this.name, ref };
        this.#pending.set(ref, {
          onReply: () => {},
          onDown: (reason, downPid) => {
            this.#pending.delete(ref);
            // Runs inside an exit: a throw here must not keep the other watchers and links from hearing of it.
            try {
              // No pid from the DOWN (the node stopping ends the monitor): the target as it was named.
              watcher({ t: 'down', to: from, ref, pid: downPid ?? pid ?? (target as Pid), reason });
            } catch (error) {
              this.logger.error({ ref, err: error }, 'monitor callback failed');
            }
          },
        });
        // Nobody holds the name: the DOWN names the address as given, as the node holding it would.
        if (pid === null) return this.#down(from, ref, target as Pid, 'noproc'), ref;
        this.route({ t: 'monitor', to: pid ?? target, from, ref });
      } else {
        if (pid === null) return this.#down(watcher, ref, target as Pid, 'noproc'), ref;
        const process = this.processOf(watcher);
        if (process && pid) (process.monitoring ??= new Map()).set(ref, pid);
        // A remote `{name, node}` has no pid here: kept by name, so the watcher's exit still removes it.
        else if (process) (process.monitoringNames ??= new Map()).set(ref, target);
        this.route({ t: 'monitor', to: pid ?? target, from: watcher, ref });
      }
      return ref;
    });
  }

  demonitor(ref: string, target: Pid): void {
    this.#entry(() => {
      this.#pending.delete(ref);
      this.route({ t: 'demonitor', to: target, from: { node: this.name, ref }, ref });
    });
  }

  /**
   * Listens to every local process exit (logging, a node that ends when its top supervisor gives
   * up). The listener also gets the process record, already out of the table, so it can tell what
   * exited (its registered name: an entity's, say) although the name is free by then.
   */
  onExit(listener: (pid: Pid, reason: ExitReason, process: ProcessRecord) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  // ── delivery ───────────────────────────────────────────────────────────────────────────────

  /** Sends an envelope to its node: here, or through the transport (for transports: see {@link TransportEndpoint}). */
  route(envelope: Envelope): void {
    const target = envelope.to;
    if (isEntityAddress(target)) return this.transport.routeEntity(this, envelope);
    const node =
      typeof target === 'string'
        ? isPid(target)
          ? nodeOfPid(target)
          : this.name
        : target.node;
    if (node === this.name) this.deliver(envelope);
    else this.transport.send(node, envelope);
  }

  /**
   * The node `name` is gone (its transport saw it die): every local link to one of its processes
   * gets an exit signal `noconnection`, every monitor on one a `DOWN` with `noconnection`, as
   * Erlang does on `nodedown`. Called by a transport; the kernel keeps the links and monitors.
   */
  nodeDown(name: string): void {
    this.#entry(() => {
      for (const process of [...this.#processes.values()]) {
        for (const linked of process.links ?? []) {
          if (nodeOfPid(linked) === name) this.#deliver({ t: 'exit', to: process.pid, from: linked, reason: 'noconnection', linked: true });
        }
        for (const [ref, target] of process.monitoring ?? []) {
          if (nodeOfPid(target) === name) this.#deliver({ t: 'down', to: process.pid, ref, pid: target, reason: 'noconnection' });
        }
      }
    });
  }

  /** Delivers an envelope addressed to this node (the transport calls this). */
  deliver(envelope: Envelope): void {
    this.#entry(() => this.#deliver(envelope));
  }

  #deliver(envelope: Envelope): void {
    switch (envelope.t) {
      case 'reply': {
        const pending = this.#pending.get(envelope.to.ref);
        if (pending) pending.onReply(envelope.value);
        else this.stats.lateReplies++;
        return;
      }
      case 'down':
        if (typeof envelope.to === 'object') {
          this.#pending.get(envelope.to.ref)?.onDown(envelope.reason, envelope.pid);
          return;
        }
        return this.#enqueue(this.processOf(envelope.to), envelope);
      case 'exit':
        return this.#signal(envelope.to, envelope.from, envelope.reason, envelope.linked);
      case 'link': {
        const process = this.processOf(envelope.to);
        if (process) (process.links ??= new PidSet()).add(envelope.from);
        else this.route({ t: 'exit', to: envelope.from, from: envelope.to, reason: 'noproc', linked: true });
        return;
      }
      case 'unlink':
        this.processOf(envelope.to)?.links?.delete(envelope.from);
        return;
      case 'monitor': {
        const process = this.#lookup(envelope.to);
        if (process) (process.monitoredBy ??= new Map()).set(envelope.ref, envelope.from);
        else this.#down(envelope.from, envelope.ref, envelope.to as Pid, 'noproc');
        return;
      }
      case 'demonitor':
        this.#lookup(envelope.to)?.monitoredBy?.delete(envelope.ref);
        return;
      case 'call': {
        const process = this.#lookup(envelope.to);
        if (process) return this.#enqueue(process, envelope);
        // A pid or a name: the monitor sent just before already answers `noproc`.
        this.stats.undelivered++;
        if (isEntityAddress(envelope.to)) this.#entityNotFound(envelope, envelope.to);
        return;
      }
      default: {
        const process = this.#lookup(envelope.to);
        if (process) return this.#enqueue(process, envelope);
        // Erlang: `Name ! Msg` to an unregistered name is badarg for the sender; gen_statem:cast
        // ignores a destination that does not exist, so a cast is dropped like any undeliverable.
        if (envelope.t === 'info' && typeof envelope.to === 'string' && !isPid(envelope.to)) throw new NoSuchNameError(envelope.to);
        this.stats.undelivered++;
        // Stryker disable next-line ConditionalExpression: equivalent, for a pid or a name #entityNotFound finds no hosted kind and, this not being a call, does nothing
        if (isEntityAddress(envelope.to)) this.#entityNotFound(envelope, envelope.to);
      }
    }
  }

  /**
   * A message for an entity that could not be started here (its kind's supervisor is down or its
   * start failed) or whose kind no node hosts. A durable transport takes back one for a kind this
   * node hosts, to retry it or give it back, never completed as if it had arrived. Otherwise
   * nothing will retry it: a cast is dropped as any undeliverable, and a call, whose entity is
   * not monitored, fails now with `noproc` instead of waiting out its timeout (or forever).
   */
  #entityNotFound(envelope: Envelope, address: EntityAddress): void {
    const undeliverable = this.transport.undeliverable;
    if (undeliverable && this.entities?.hosts(address.entity)) return undeliverable.call(this.transport, envelope);
    if (envelope.t === 'call') this.#down(envelope.from, envelope.from.ref, entityName(address) as Pid, 'noproc');
  }

  #lookup(address: Address): ProcessRecord | undefined {
    if (isEntityAddress(address)) {
      const pid = this.entities?.ensure(address);
      return pid && this.#processes.get(pid);
    }
    if (typeof address !== 'string') return this.#names.has(address.name) ? this.#lookup(address.name) : undefined;
    return this.#processes.get(isPid(address) ? address : (this.#names.get(address) as Pid));
  }

  /**
   * The pid an address stands for: a pid itself (here or remote), the holder of a local name, or
   * `null` for a local name nobody holds; `undefined` for a remote name or an entity, which only
   * the node that places them can resolve.
   */
  #resolveLocal(address: Address): Pid | undefined | null {
    // Stryker disable next-line ConditionalExpression: equivalent, an entity address has no node, so the remote-name check below gives undefined too; this says why (and narrows the type)
    if (isEntityAddress(address)) return undefined; // placed by the transport, spawned on arrival
    if (typeof address === 'string') return isPid(address) ? address : (this.#names.get(address) ?? null);
    if (address.node !== this.name) return undefined;
    return this.#names.get(address.name) ?? null;
  }

  #down(watcher: Pid | CallerRef, ref: string, pid: Pid, reason: ExitReason): void {
    this.route({ t: 'down', to: watcher, ref, pid, reason });
  }

  #enqueue(process: ProcessRecord | undefined, envelope: Envelope): void {
    if (!process) {
      this.stats.undelivered++;
      return;
    }
    this._stepWatcher?.queued(envelope);
    process.mailbox.push(envelope);
    this._schedule(process);
  }

  /** @internal puts a process with work in the run queue. */
  _schedule(process: ProcessRecord): void {
    // Stryker disable next-line ConditionalExpression: #runSlice skips a busy, suspended or dead process too (it must, as that can change mid-slice); here it only keeps the run queue short
    if (process.scheduled || process.busy || process.suspended || !process.alive) return;
    process.scheduled = true;
    this.#runQueue.push(process);
  }

  #signal(to: Pid, from: Pid, reason: ExitReason, linked: boolean): void {
    const process = this.processOf(to);
    if (!process) return;
    // A link's signal only travels a link that still exists: one sent before the other side heard
    // of an unlink (or of a link made and undone) is dropped, as Erlang's unlink promises.
    if (linked && !process.links?.delete(from)) return;
    if (reason === KILL && !linked) return this._terminate(process, 'killed');
    if (process.trapExit) return this.#enqueue(process, { t: 'exit', to, from, reason, linked });
    if (reason === 'normal' && from !== to) return;
    // A link's `kill` is the linked process's exit reason, not exit(Pid, kill): an ordinary
    // signal, as in Erlang, so a non-trapping process exits with `kill` itself (not `killed`).
    this._terminate(process, reason);
  }

  /**
   * @internal ends a process: it is unregistered and out of the table before anyone hears of it,
   * so a supervisor restarting it can reuse its name at once; then links get exit signals and
   * monitors `DOWN`, in that order.
   */
  _terminate(process: ProcessRecord, reason: ExitReason): void {
    if (!process.alive) return;
    process.alive = false;
    try {
      process.cleanup(reason);
    } catch (error) {
      this.logger.error({ actor: process.pid, err: error }, 'cleanup failed while exiting');
    }
    process.mailbox.clear();
    this.#processes.delete(process.pid);
    this.stats.processes--;
    this.stats.exited++;
    // Stryker disable next-line ConditionalExpression: equivalent, no name is undefined (#checkName takes only non-empty strings), so the lookup alone decides
    if (process.name !== undefined && this.#names.get(process.name) === process.pid) this.#names.delete(process.name);
    process.tracer?.({ pid: process.pid, at: this.clock.now(), kind: 'exit', reason });
    if (process.monitoring) {
      for (const [ref, target] of process.monitoring) this.route({ t: 'demonitor', to: target, from: process.pid, ref });
    }
    if (process.monitoringNames) {
      for (const [ref, target] of process.monitoringNames) this.route({ t: 'demonitor', to: target, from: process.pid, ref });
    }
    if (process.links) {
      for (const linked of process.links) this.route({ t: 'exit', to: linked, from: process.pid, reason, linked: true });
    }
    if (process.monitoredBy) {
      for (const [ref, watcher] of process.monitoredBy) this.#down(watcher, ref, process.pid, reason);
    }
    if (reason !== 'normal' && reason !== 'shutdown') {
      this.logger.debug({ actor: process.pid, reason: formatReason(reason) }, 'process exited');
    }
    for (const listener of this.#exitListeners) {
      try {
        listener(process.pid, reason, process);
      } catch (error) {
        this.logger.error({ actor: process.pid, err: error }, 'exit listener failed');
      }
    }
  }

  // ── scheduling ─────────────────────────────────────────────────────────────────────────────

  /** Runs `work` as one entry point: the run queue drains when the outermost entry returns. */
  #entry<T>(work: () => T): T {
    this.#depth++;
    try {
      return work();
    } finally {
      if (--this.#depth === 0) this.#drain();
    }
  }

  /** Runs work caused outside any entry point (a promise continuation, a transport delivery) as one. */
  run<T>(work: () => T): T {
    return this.#entry(work);
  }

  #drain(): void {
    this.#depth++;
    try {
      for (let process = this.#runQueue.shift(); process; process = this.#runQueue.shift()) {
        process.scheduled = false;
        this.#runSlice(process);
      }
    } finally {
      this.#depth--;
    }
  }

  #runSlice(process: ProcessRecord): void {
    for (let i = 0; i < SLICE; i++) {
      // Stryker disable next-line ConditionalExpression: equivalent, a process that exited (in its last step or while queued) had its mailbox cleared, so the shift below ends the slice all the same
      if (!process.alive) return;
      if (process.suspended) return;
      // Stryker disable next-line ConditionalExpression: equivalent, only a step of this very slice makes a process busy, and the slice returns right then; this backs _schedule's check
      if (process.busy) return;
      const envelope = process.mailbox.shift();
      if (!envelope) return;
      process.messagesIn++;
      let pending: void | Promise<void>;
      try {
        pending = this._stepWatcher === undefined ? process.handle(envelope) : this._stepWatcher.step(process, envelope, handleStep);
      } catch (error) {
        this._terminate(process, error);
        return;
      }
      if (pending) return this.#await(process, pending);
    }
    if (process.mailbox.length > 0) this._schedule(process);
  }

  #await(process: ProcessRecord, pending: Promise<void>): void {
    process.busy = true;
    this.#busy++;
    pending.then(
      () => this.#entry(() => this.#idle(process)),
      (error: unknown) => this.#entry(() => (this.#idle(process), this._terminate(process, error))),
    );
  }

  #idle(process: ProcessRecord): void {
    process.busy = false;
    this.#busy--;
    // For the mail that came during the step. Unconditional: this runs in an entry of its own, whose
    // drain has nothing else queued, so an empty mailbox costs one turn that ends at once.
    this._schedule(process);
  }

  /**
   * Resolves once no process has work left: the run queue is empty and no handler is still
   * awaiting (a supervisor shutting a child down). Timers that have not fallen due are not work.
   */
  async settle(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: every entry drains the run queue before it returns, so out here it is empty but for a future change
    while (this.#busy > 0 || this.#runQueue.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#entry(() => {});
    }
  }

  /** @internal a node-unique reference (monitors, calls). */
  _newRef(): string {
    // Stryker disable next-line UpdateOperator: equivalent, a ref only has to differ from the node's others, counting down keeps them apart too
    return `${this.name}#${++this.#refSerial}`;
  }

  /** Kills every process, ends pending calls and leaves the transport. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#entry(() => {
      for (const process of [...this.#processes.values()].reverse()) this._terminate(process, 'shutdown');
    });
    for (const pending of [...this.#pending.values()]) pending.onDown('shutdown');
    await this.transport.detach(this.name);
  }

  #checkName(name: string): void {
    if (typeof name !== 'string' || name.length === 0 || name.startsWith('<')) throw new NameTakenError(String(name), undefined);
    const holder = this.#names.get(name);
    if (holder !== undefined) throw new NameTakenError(name, holder);
  }

  #register(name: string, process: ProcessRecord): void {
    this.#names.set(name, process.pid);
    process.name = name;
  }

  #addLink(a: Pid, b: Pid): void {
    const process = this.processOf(a);
    if (process) (process.links ??= new PidSet()).add(b);
  }
}
