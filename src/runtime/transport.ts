import type { Envelope } from './envelope.ts';

/** The side of a node a transport talks to. */
export interface TransportEndpoint {
  readonly name: string;
  /** Hands an envelope addressed to this node to its processes. */
  deliver(envelope: Envelope): void;
  /** The entities this node hosts, if any. */
  readonly entities: { hosts(kind: string): boolean } | undefined;
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
