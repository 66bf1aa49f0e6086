import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GovernorError } from '../errors.ts';
import { RedisKeys } from '../store/redis-keys.ts';
import type { Admin } from './admin.ts';
import { checkReplEvent } from './admin-operations.ts';
import { ClusterReads } from './cluster-reads.ts';
import { parseStateChange } from '../runtime/state-change.ts';
import { isEntityAddress } from '../runtime/entity.ts';
import { parseRef } from './ref.ts';
import { needsSignature, sign, type AdminReply, type AdminRequest } from './admin-protocol.ts';
import type { ClockReading } from './test-clock.ts';

/** How long the client waits for a node's reply. @default 5 s */
export const REPLY_TIMEOUT_MS = 5_000;

/** A node did not answer an admin request in time: it is down, busy, or on another prefix. */
export class AdminTimeoutError extends GovernorError {
  constructor(readonly node: string, command: string, timeoutMs: number) {
    super('ADMIN_TIMEOUT', `node ${node} did not answer ${command} within ${timeoutMs / 1000} s: is it running on this Redis and prefix (governor start --redis)?`);
  }
}

/** The node refused or failed the command; `code` is the node's. */
export class AdminRemoteError extends GovernorError {}

/** Mutating without a token: refused before anything is sent. */
export class AdminTokenMissingError extends GovernorError {
  constructor() {
    super('ADMIN_NO_TOKEN', "admin commands need GOVERNOR_ADMIN_TOKEN (the same token as the node's); without it the REPL can only read");
  }
}

export interface RemoteAdminOptions {
  /** How long to wait for the node's reply. @default {@link REPLY_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** The nodes' partition count, for `queues()`. @default 16, the transport's */
  readonly partitions?: number;
  /**
   * `commandTimeout` of the reads' connection, when it should differ from the main one's (whose
   * deadline must also cover a BLPOP's wait for a node). @default the main connection's
   */
  readonly readTimeoutMs?: number;
}

/**
 * The Admin of one BullMQ node reached through Redis: each command is a request pushed onto the
 * node's admin list, answered on a reply list. Mutations are signed with the token. What Redis
 * holds anyway (members, queue counts, dead letters, committed receipt chains) is read straight
 * from it, so those work with the node down.
 */
export class RemoteAdmin implements Admin {
  readonly #keys: RedisKeys;
  readonly timeoutMs: number;
  readonly #partitions: number | undefined;
  readonly #readTimeoutMs: number | undefined;
  #reads: ClusterReads | undefined;

  constructor(
    /** A connection that may block (BLPOP): not shared with anything else. */
    readonly redis: Redis,
    prefix: string,
    readonly node: string,
    readonly token: string | undefined,
    options: RemoteAdminOptions = {},
  ) {
    this.#keys = new RedisKeys(prefix);
    this.timeoutMs = options.timeoutMs ?? REPLY_TIMEOUT_MS;
    this.#partitions = options.partitions;
    this.#readTimeoutMs = options.readTimeoutMs;
  }

  /** Reads on a connection of their own: the main one blocks in BLPOP while a request waits. */
  get #reader(): ClusterReads {
    this.#reads ??= new ClusterReads(
      this.redis.duplicate(this.#readTimeoutMs === undefined ? {} : { commandTimeout: this.#readTimeoutMs }),
      this.#keys.prefix,
      this.#partitions,
    );
    return this.#reads;
  }

  /** The node holding an entity ref's partition, if another does; else this REPL's node. */
  async #nodeOf(ref: unknown): Promise<string> {
    let parsed;
    try {
      parsed = parseRef(ref);
    } catch {
      return this.node; // the node says what is wrong with it
    }
    return (isEntityAddress(parsed) && (await this.#reader.holderOf(parsed))) || this.node;
  }

  async request(command: string, args: unknown[], node = this.node): Promise<unknown> {
    if (needsSignature(command) && !this.token) throw new AdminTokenMissingError();
    const unsigned: AdminRequest = { id: randomUUID(), node, command, args, nonce: randomBytes(16).toString('hex'), issuedAt: Date.now() };
    const request = this.token && needsSignature(command) ? sign(unsigned, this.token) : unsigned;
    await this.redis.rpush(this.#keys.adminRequests(node), JSON.stringify(request));
    const popped = await this.redis.blpop(this.#keys.adminReply(request.id), this.timeoutMs / 1000);
    if (!popped) {
      // Nobody took it: withdraw it, so a node that comes back later does not run a stale command.
      await this.redis.lrem(this.#keys.adminRequests(node), 1, JSON.stringify(request));
      throw new AdminTimeoutError(node, command, this.timeoutMs);
    }
    const reply = JSON.parse(popped[1]) as AdminReply;
    if (!reply.ok) throw new AdminRemoteError(reply.code, reply.message);
    return reply.value;
  }

  /** The members as Redis has them, alive by Redis' clock, with their partitions; no node needs to answer. */
  nodes() {
    return this.#reader.nodes();
  }

  tree(root?: unknown) { return this.request('tree', root === undefined ? [] : [root]); }
  which_children(s: unknown) { return this.request('which_children', [s]); }
  count_children(s: unknown) { return this.request('count_children', [s]); }
  // An entity is asked of the node holding its partition, where it is live if it is in memory.
  async get_state(r: unknown) { return this.request('get_state', [r], await this.#nodeOf(r)); }
  async get_status(r: unknown) { return this.request('get_status', [r], await this.#nodeOf(r)); }
  /** Checked here for a quick answer, and again by the node, the boundary: only data travels. */
  async replace_state(r: unknown, change: unknown) {
    return this.request('replace_state', [r, parseStateChange(change)]);
  }
  suspend(r: unknown) { return this.request('suspend', [r]); }
  resume(r: unknown) { return this.request('resume', [r]); }
  trace(): Promise<unknown> {
    return Promise.reject(new AdminRemoteError('ADMIN_NOT_REMOTE', 'trace is not available remotely; use governor start --shell on the node'));
  }
  restart_child(s: unknown, id: string) { return this.request('restart_child', [s, id]); }
  terminate_child(s: unknown, id: string) { return this.request('terminate_child', [s, id]); }
  send(r: unknown, e: unknown) { return this.request('send', [r, e]); }
  call(r: unknown, e: unknown, t?: number) { return this.request('call', t === undefined ? [r, e] : [r, e, t]); }
  stats() { return this.request('stats', []); }

  /**
   * Checked here for a quick answer naming the field, and again by the node, the boundary. Sent as
   * typed: the node fills in a missing eventId and occurredAt from its own clock, which is the one
   * that counts (a node on GOVERNOR_TEST_CLOCK lives in another year than this REPL).
   */
  async enqueue(event: unknown) {
    checkReplEvent(event);
    return this.request('enqueue', [event]);
  }
  dlq_replay(id: string) { return this.request('dlq_replay', [id]); }
  queues() { return this.#reader.queues(); }
  dlq() { return this.#reader.dlq(); }
  audit_verify(customerId?: string) { return this.#reader.audit_verify(customerId); }
  // Run node-side: the node knows the fleet's partitions and placement; erase is signed.
  customer_export(customerId: string) { return this.request('customer_export', [customerId]); }
  customer_erase(customerId: string) { return this.request('customer_erase', [customerId]); }

  // A cluster's test clocks move together: one node ahead of another would decide the same
  // customer's timers differently after a takeover. So each clock command goes to every live node.
  clock() { return this.#everyNode('clock', []) as Promise<ClockReading[]>; }
  clock_advance(duration: unknown) { return this.#everyNode('clock_advance', [duration]) as Promise<ClockReading[]>; }
  clock_set(instant: unknown) { return this.#everyNode('clock_set', [instant]) as Promise<ClockReading[]>; }

  /** Runs a command on every live node, one after another; a refusal names the nodes that had run it. */
  async #everyNode(command: string, args: unknown[]): Promise<unknown[]> {
    const live = (await this.#reader.nodes()).filter((n) => n.alive).map((n) => n.name);
    if (live.length === 0) throw new AdminRemoteError('ADMIN_NO_NODE', `${command}: no live node on this Redis and prefix (governor start --redis)`);
    const results: unknown[] = [];
    for (const node of live) {
      try {
        results.push(await this.request(command, args, node));
      } catch (error) {
        if (results.length === 0 || !(error instanceof GovernorError)) throw error;
        throw new AdminRemoteError(error.code, `${error.message} (already run on ${live.slice(0, results.length).join(', ')})`);
      }
    }
    return results;
  }

  /** Closes the reads' connection (the main one is the caller's). */
  async close(): Promise<void> {
    await this.#reads?.close();
    this.#reads = undefined;
  }
}
