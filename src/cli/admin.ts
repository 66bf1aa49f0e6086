import { entityName, isEntityAddress } from '../runtime/entity.ts';
import type { Message } from '../runtime/envelope.ts';
import { NoProcError } from '../runtime/errors.ts';
import { InvalidMessageError } from '../runtime/message-acceptance.ts';
import type { Node } from '../runtime/node.ts';
import type { Pid } from '../runtime/pid.ts';
import { restartChild, terminateChild, whichChildren, countChildren } from '../runtime/supervisor/api.ts';
import * as sys from '../runtime/sys.ts';
import { parseStateChange } from '../runtime/state-change.ts';
import type { TraceEntry } from '../runtime/trace.ts';
import { unavailableOperations, type AdminOperations } from './admin-operations.ts';
import { entityState, entityStatus, type EntitySource } from './entity-reads.ts';
import { parseRef } from './ref.ts';
import { clockOperations, type ClockReading } from './test-clock.ts';
import type { TestClock } from '../runtime/clock.ts';

/**
 * What the admin REPL can do to a running system, named as in OTP, plus the application's
 * {@link AdminOperations}. One interface, so the same REPL drives the embedded node in-process
 * and, through Redis, a fleet of nodes.
 */
export interface Admin extends AdminOperations {
  nodes(): Promise<unknown>;
  tree(root?: unknown): Promise<unknown>;
  which_children(supervisor: unknown): Promise<unknown>;
  count_children(supervisor: unknown): Promise<unknown>;
  get_state(ref: unknown): Promise<unknown>;
  get_status(ref: unknown): Promise<unknown>;
  /** A declarative change ({@link StateChange}): a JSON Patch on the context and/or a state value. Never code. */
  replace_state(ref: unknown, change: unknown): Promise<unknown>;
  suspend(ref: unknown): Promise<unknown>;
  resume(ref: unknown): Promise<unknown>;
  trace(ref: unknown, on: boolean | 'on' | 'off', print: (entry: TraceEntry) => void): Promise<unknown>;
  restart_child(supervisor: unknown, id: string): Promise<unknown>;
  terminate_child(supervisor: unknown, id: string): Promise<unknown>;
  send(ref: unknown, event: unknown): Promise<unknown>;
  call(ref: unknown, event: unknown, timeoutMs?: number): Promise<unknown>;
  stats(): Promise<unknown>;
  /** The node's time, and whether it is a test clock (`GOVERNOR_TEST_CLOCK`); remotely, every live node's. */
  clock(): Promise<ClockReading | ClockReading[]>;
  /** Test clock only: moves the time forward, firing every timer due on the way (remotely: on every live node). */
  clock_advance(duration: unknown): Promise<ClockReading | ClockReading[]>;
  /** Test clock only: moves the time forward to an instant (remotely: on every live node). */
  clock_set(instant: unknown): Promise<ClockReading | ClockReading[]>;
  /**
   * Whether the clock commands that move time exist here: false on a node without a test clock,
   * undefined when only the nodes can tell (the REPL over Redis: they refuse if they have none).
   */
  readonly testClock?: boolean;
}

/** Checks an event typed at the REPL: an object with a string `type`. */
export function checkEvent(event: unknown): Message {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof (event as Message).type !== 'string') {
    throw new TypeError('an event is an object with a string "type", e.g. { type: "ping" }');
  }
  return event as Message;
}

/** The admin of a node in this process: the embedded node of `npm start`. */
export class LocalAdmin implements Admin {
  readonly #clock: ReturnType<typeof clockOperations>;

  constructor(
    readonly node: Node,
    /** The root of `tree()` when none is given. */
    readonly root: () => Pid | undefined,
    /** enqueue, queues, dlq, dlq_replay, audit_verify: what the node hosts decides what they reach. */
    readonly operations: AdminOperations = unavailableOperations('this node hosts no application (no marketplace, no queues)'),
    /** Where entities not in memory here are read (their committed state) and the cluster's nodes listed. */
    readonly cluster: { entities?: EntitySource; nodes?: () => Promise<unknown> } = {},
    /** The node's clock when it is a test clock (`GOVERNOR_TEST_CLOCK`): then clock_advance and clock_set exist. */
    testClock?: TestClock,
  ) {
    this.#clock = clockOperations(node.name, node.clock, testClock);
    this.testClock = testClock !== undefined;
  }

  readonly testClock: boolean;

  /** A live local pid for a reference; an entity that is not in memory is not woken up by looking. */
  pid(ref: unknown): Pid {
    const parsed = parseRef(ref);
    const name = isEntityAddress(parsed) ? entityName(parsed) : parsed;
    const pid = this.node.isAlive(name as Pid) ? (name as Pid) : this.node.whereis(name);
    if (!pid) throw new NoProcError(isEntityAddress(parsed) ? `${parsed.entity}/${parsed.key} (not in memory)` : String(parsed));
    return pid;
  }

  async nodes() {
    if (this.cluster.nodes) return this.cluster.nodes();
    return [{ name: this.node.name, transport: this.node.transport.kind, alive: true, ...this.node.stats }];
  }

  async tree(root?: unknown) {
    const pid = root === undefined ? this.root() : this.pid(root);
    if (!pid) throw new NoProcError('the root supervisor');
    return sys.tree(this.node, pid);
  }

  async which_children(supervisor: unknown) {
    return whichChildren(this.node, this.pid(supervisor));
  }

  async count_children(supervisor: unknown) {
    return countChildren(this.node, this.pid(supervisor));
  }

  async get_state(ref: unknown) {
    const parsed = parseRef(ref);
    if (this.cluster.entities && isEntityAddress(parsed)) return entityState(this.node, parsed, this.cluster.entities);
    return sys.getState(this.node, this.pid(ref));
  }

  async get_status(ref: unknown) {
    const parsed = parseRef(ref);
    if (this.cluster.entities && isEntityAddress(parsed)) return entityStatus(this.node, parsed, this.cluster.entities);
    return sys.getStatus(this.node, this.pid(ref));
  }

  async replace_state(ref: unknown, change: unknown) {
    // Checked as data before the ref is looked up: a function is refused as such, whatever the ref.
    const parsed = parseStateChange(change);
    return sys.changeState(this.node, this.pid(ref), parsed);
  }

  async suspend(ref: unknown) {
    sys.suspend(this.node, this.pid(ref));
    return 'ok';
  }

  async resume(ref: unknown) {
    sys.resume(this.node, this.pid(ref));
    return 'ok';
  }

  async trace(ref: unknown, on: boolean | 'on' | 'off', print: (entry: TraceEntry) => void) {
    const enable = on === true || on === 'on';
    sys.trace(this.node, this.pid(ref), enable ? print : false);
    return enable ? 'tracing' : 'trace off';
  }

  async restart_child(supervisor: unknown, id: string) {
    return restartChild(this.node, this.pid(supervisor), id);
  }

  async terminate_child(supervisor: unknown, id: string) {
    return terminateChild(this.node, this.pid(supervisor), id);
  }

  async send(ref: unknown, event: unknown) {
    const parsed = parseRef(ref);
    this.node.cast(parsed, this.#accepted(parsed, 'cast', checkEvent(event)));
    return 'ok';
  }

  async call(ref: unknown, event: unknown, timeoutMs = 5_000) {
    const parsed = parseRef(ref);
    return this.node.call(parsed, this.#accepted(parsed, 'call', checkEvent(event)), { timeout: timeoutMs });
  }

  /**
   * The message, if the target entity's kind takes it (its `accepts`): the REPL is a door too, and
   * on the embedded node nothing else would check it (on a BullMQ node the partition would
   * dead-letter it). Throws {@link InvalidMessageError} naming the problem; nothing is sent.
   */
  #accepted(target: ReturnType<typeof parseRef>, t: 'cast' | 'call', typed: Message): Message {
    if (!isEntityAddress(target)) return typed;
    // As JSON, as a queue would carry it: what the REPL typed was built in its own vm context,
    // whose objects are not plain objects of this one (and an entity message is JSON data anyway).
    let event: Message;
    try {
      event = JSON.parse(JSON.stringify(typed)) as Message;
    } catch (error) {
      throw new InvalidMessageError(target, `not JSON data (${error instanceof Error ? error.message : String(error)})`);
    }
    const refused = this.node.entities?.refusal(target, t === 'call' ? { t, to: target, from: { node: this.node.name, ref: 'repl' }, event } : { t, to: target, event });
    if (refused !== undefined) throw new InvalidMessageError(target, refused);
    return event;
  }

  async stats() {
    return { node: this.node.name, ...this.node.stats };
  }

  clock() {
    return this.#clock.clock();
  }

  clock_advance(duration: unknown) {
    return this.#clock.clock_advance(duration);
  }

  clock_set(instant: unknown) {
    return this.#clock.clock_set(instant);
  }

  enqueue(event: unknown) {
    return this.operations.enqueue(event);
  }

  queues() {
    return this.operations.queues();
  }

  dlq() {
    return this.operations.dlq();
  }

  dlq_replay(id: string) {
    return this.operations.dlq_replay(id);
  }

  audit_verify(customerId?: string) {
    return this.operations.audit_verify(customerId);
  }

  customer_export(customerId: string) {
    return this.operations.customer_export(customerId);
  }

  customer_erase(customerId: string) {
    return this.operations.customer_erase(customerId);
  }
}
