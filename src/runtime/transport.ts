import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import type { Envelope } from './envelope.ts';
import type { ExitReason } from './exit-reason.ts';
import type { NodeEntities } from './node-entities.ts';
import type { Pid } from './pid.ts';
import type { ProcessRecord } from './process-record.ts';

/**
 * The side of a node a transport talks to (the `Node` implements it). A transport sees the node
 * through this interface only, so any transport, and the kernel, stay apart: the kernel keeps its
 * process table, links and monitors, and offers the operations a transport needs on them.
 */
export interface TransportEndpoint {
  readonly name: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Hands an envelope addressed to this node to its processes. */
  deliver(envelope: Envelope): void;
  /** Sends an envelope to its node: this one, or another through the transport. */
  route(envelope: Envelope): void;
  /** The entities this node hosts, if any. */
  readonly entities: NodeEntities | undefined;
  /** The registered name of a local process, if it has one. */
  registeredName(pid: Pid): string | undefined;
  /** Another node is gone: links and monitors to its processes fire with `noconnection`. */
  nodeDown(node: string): void;
  /** Listens to every local process exit; returns the function that stops listening. */
  onExit(listener: (pid: Pid, reason: ExitReason, process: ProcessRecord) => void): () => void;
  /** Runs work caused outside any entry point (a promise continuation) as one. */
  run<T>(work: () => T): T;
  /** Resolves once no local process has work left. */
  settle(): Promise<void>;
  /** @internal see {@link StepWatcher}; none, the usual case, costs one check per message. */
  _stepWatcher?: StepWatcher | undefined;
}

/** Handles one envelope of a process's mailbox (`process.handle`), as {@link StepWatcher.step} is given it. */
export type StepHandler = (process: ProcessRecord, envelope: Envelope) => void | Promise<void>;

/**
 * Sees every message a process of a node handles, from outside the kernel (tracing: the BullMQ
 * transport's spans, `job-tracing.ts`). `queued` is told of each envelope as it joins a mailbox,
 * while whatever sent it is still running, so a watcher can tell which step caused which; `step`
 * runs each one, and must call `handle(process, envelope)` exactly once and return what it
 * returns (its throw is the process's crash, as without a watcher).
 * @internal
 */
export interface StepWatcher {
  queued(envelope: Envelope): void;
  step(process: ProcessRecord, envelope: Envelope, handle: StepHandler): void | Promise<void>;
}

/**
 * How envelopes reach processes on other nodes. A node delivers to its own processes itself and
 * gives the transport only what is addressed elsewhere, so actor code is the same on every
 * transport: `memory` (nodes in one process) or `bullmq` (nodes anywhere that share a Redis).
 */
export interface Transport {
  readonly kind: string;
  /** Connects a node: envelopes for it arrive through `endpoint.deliver`. */
  attach(endpoint: TransportEndpoint): void;
  /** Sends an envelope to the node named `node`. */
  send(node: string, envelope: Envelope): void;
  /**
   * Sends an envelope addressed to an entity to the node that hosts its key: the sender itself
   * when it does (co-location: a customer's actors talk in memory), another node otherwise.
   */
  routeEntity(from: TransportEndpoint, envelope: Envelope): void;
  /** Disconnects a node; envelopes for it are no longer delivered. */
  detach(node: string): void | Promise<void>;
  /**
   * A message for an entity this node hosts found no entity: its kind's supervisor is down (it
   * gave up, or is being restarted). A transport delivering from a durable queue fails the
   * message here so that it is retried or given back, never completed as if it had arrived.
   */
  undeliverable?(envelope: Envelope): void;
}
