import { checkEntityAddress, type EntityAddress } from '../runtime/entity.ts';
import type { Envelope } from '../runtime/envelope.ts';
import { hashKey } from '../store/hash-key.ts';
import { nodeOfPid, type Pid } from '../runtime/pid.ts';
import type { Transport, TransportEndpoint } from '../runtime/transport.ts';

/**
 * In-process delivery between nodes that share one {@link MemoryTransport}: the embedded default
 * (one node, nothing to configure) and the fast path for tests of several nodes.
 *
 * An envelope for a node that is not attached cannot be delivered: a call or monitor is answered
 * with `noconnection`, a link with an exit signal `noconnection`, as Erlang does for a lost node.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly #nodes = new Map<string, TransportEndpoint>();

  attach(endpoint: TransportEndpoint): void {
    if (this.#nodes.has(endpoint.name)) {
      throw new Error(`a node named "${endpoint.name}" is already attached to this transport: give each node a unique name`);
    }
    this.#nodes.set(endpoint.name, endpoint);
  }

  send(node: string, envelope: Envelope): void {
    const target = this.#nodes.get(node);
    if (target) return target.deliver(envelope);
    const back = this.#bounce(envelope);
    if (back) this.#nodes.get(back.node)?.deliver(back.envelope);
  }

  /**
   * The same node for the same key, every time, among the nodes hosting the kind: one instance
   * per entity, and every kind of one customer on the same node when all nodes host all kinds.
   */
  routeEntity(from: TransportEndpoint, envelope: Envelope): void {
    // Checked before hashing: a key that is not a string made hashKey throw Node's
    // ERR_INVALID_ARG_TYPE instead of the InvalidEntityAddressError that names the problem.
    const address = checkEntityAddress(envelope.to as EntityAddress);
    const hosts = [...this.#nodes.values()].filter((node) => node.entities?.hosts(address.entity));
    const host = hosts[hashKey(address.key) % Math.max(1, hosts.length)];
    if (host) return host.deliver(envelope);
    from.deliver(envelope); // nobody hosts it: the sender's node reports it undeliverable
  }

  detach(node: string): void {
    this.#nodes.delete(node);
  }

  /** What the sender hears when the target node is unreachable. */
  #bounce(envelope: Envelope): { node: string; envelope: Envelope } | undefined {
    switch (envelope.t) {
      case 'monitor':
        if (typeof envelope.from === 'object') {
          return {
            node: envelope.from.node,
            envelope: { t: 'down', to: envelope.from, ref: envelope.ref, pid: envelope.to as never, reason: 'noconnection' },
          };
        }
        return {
          node: nodeOfPid(envelope.from as Pid),
          envelope: { t: 'down', to: envelope.from, ref: envelope.ref, pid: envelope.to as never, reason: 'noconnection' },
        };
      case 'link':
        return {
          node: nodeOfPid(envelope.from as Pid),
          envelope: { t: 'exit', to: envelope.from, from: envelope.to, reason: 'noconnection', linked: true },
        };
      default:
        return undefined;
    }
  }
}
