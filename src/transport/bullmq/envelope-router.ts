import type { Logger } from 'pino';
import { entityName, type EntityAddress } from '../../runtime/entity.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import type { Pid } from '../../runtime/pid.ts';
import type { TransportEndpoint } from '../../runtime/transport.ts';
import type { PartitionId, RedisKeys } from '../../store/redis-keys.ts';
import type { EntityCache } from './entity-cache.ts';
import type { EntityScopes } from './entity-scopes.ts';
import type { Placement } from '../../store/key-partitions.ts';
import type { PartitionOwnership } from './partition-ownership.ts';
import type { OutgoingJob, Relay } from './relay.ts';
import type { MessageIds } from './scope.ts';
import type { JobTracing } from './job-tracing.ts';

export interface EnvelopeRouterParts {
  readonly placement: Placement;
  readonly keys: RedisKeys;
  readonly cache: EntityCache;
  readonly ids: MessageIds;
  readonly scopes: EntityScopes;
  readonly partitions: PartitionOwnership;
  readonly partitionOf: (address: EntityAddress) => PartitionId;
  readonly node: () => TransportEndpoint | undefined;
  readonly relay: () => Relay | undefined;
  readonly isDead: (node: string) => boolean;
  readonly logger: () => Logger;
  /** The node's spans, when it traces: each message sent carries the sending step's context. */
  readonly tracing?: JobTracing | undefined;
}

/**
 * Where an envelope goes. To a pid: the target node's inbox queue, or, for a node known dead, the
 * `noconnection` answer Erlang gives. To an entity: its partition's queue, or straight into memory
 * when it is co-located with the sender (sharded placement, same partition, loaded) so one
 * customer's actors talk without Redis and their changes commit together.
 *
 * What leaves is never sent at once from inside a job: it joins the job's pending outbox and is
 * committed with the entities' states in one script (an ambient scope commits it with its next
 * commit); only outside any scope does it go straight to Redis.
 */
export class EnvelopeRouter {
  readonly #parts: EnvelopeRouterParts;

  constructor(parts: EnvelopeRouterParts) {
    this.#parts = parts;
  }

  toNode(nodeName: string, envelope: Envelope): void {
    if (this.#parts.isDead(nodeName)) return this.#bounce(envelope);
    this.#emit(this.#outgoing(this.#parts.keys.nodeQueue(nodeName), envelope));
  }

  toEntity(envelope: Envelope): void {
    const { placement, scopes, cache, partitions, keys } = this.#parts;
    const target = envelope.to as EntityAddress;
    const partition = this.#parts.partitionOf(target);
    const scope = scopes.current;
    const node = this.#parts.node();
    if (placement === 'sharded' && scope && node?.entities?.hosts(target.entity)) {
      const local = scope.kind === 'job' ? scope.partition === partition : this.#senderPartition(envelope) === partition;
      if (local && partitions.get(partition)?.active) {
        if (cache.has(target)) return node.deliver(envelope);
        if (scope.kind === 'job') {
          // Not loaded yet: the job loads it and runs again, so the delivery stays in memory.
          scope.missing.push(target);
          return;
        }
      }
    }
    this.#emit(this.#outgoing(keys.partitionQueue(partition), envelope));
  }

  /** The job (or timer flush) fails as a crash would: it is re-run, then given back or dead-lettered. */
  undeliverable(envelope: Envelope): void {
    const target = envelope.to as EntityAddress;
    const reason = `noproc: ${target.entity}/${target.key} could not be started (its supervisor is down)`;
    const scope = this.#parts.scopes.current;
    if (scope) scope.crashes.push(reason);
    else this.#parts.logger().error({ entity: entityName(target) }, `a message was dropped: ${reason}`);
  }

  #emit(job: OutgoingJob): void {
    const scope = this.#parts.scopes.current;
    if (scope?.kind === 'job') {
      // No runtime: the partition was lost mid-job; the job runs again on its next owner, so
      // what it sends here must not leave.
      return void this.#parts.partitions.get(scope.partition)?.pending.push(job);
    } else if (scope) {
      return void scope.outbox.push(job);
    }
    this.#parts.relay()?.push([job]);
  }

  /** A message leaving through a queue; when the node traces, with the sending step's context. */
  #outgoing(queue: string, env: Envelope): OutgoingJob {
    const id = this.#messageId();
    const trace = this.#parts.tracing?.carrier();
    return trace === undefined ? { queue, id, env } : { queue, id, env, trace };
  }

  #messageId(): string {
    const scope = this.#parts.scopes.current;
    return scope?.kind === 'job' ? this.#parts.ids.child(scope) : this.#parts.ids.fresh();
  }

  /** What a sender hears when the target node is known dead, as Erlang does for a lost node. */
  #bounce(envelope: Envelope): void {
    const node = this.#parts.node();
    if (!node) return;
    if (envelope.t === 'monitor') {
      node.deliver({ t: 'down', to: envelope.from, ref: envelope.ref, pid: envelope.to as Pid, reason: 'noconnection' });
    } else if (envelope.t === 'link') {
      node.deliver({ t: 'exit', to: envelope.from, from: envelope.to, reason: 'noconnection', linked: true });
    }
  }

  /** The partition of the entity sending `envelope`, if an entity sends it. */
  #senderPartition(envelope: Envelope): PartitionId | undefined {
    if ((envelope.t !== 'cast' && envelope.t !== 'info') || envelope.from === undefined) return undefined;
    const name = this.#parts.node()?.registeredName(envelope.from);
    if (!name?.startsWith('entity:')) return undefined;
    const slash = name.indexOf('/');
    return this.#parts.partitionOf({ entity: name.slice('entity:'.length, slash), key: name.slice(slash + 1) });
  }
}
