import { createHash, randomBytes } from 'node:crypto';
import type { EntityAddress } from '../../runtime/entity.ts';
import type { ExitReason } from '../../runtime/exit-reason.ts';
import type { PartitionId } from '../../store/redis-keys.ts';
import type { OutgoingJob } from './relay.ts';

/**
 * What one synchronous stretch of work on the node produced (a "sync window": the delivery of one
 * job, or a timer falling due). The node runs to completion, so everything an actor does because
 * of that delivery happens inside the window, and the transport can attribute it: messages sent,
 * entities changed, crashes.
 *
 * - a **job** scope handles one message of a partition: what it sends joins the partition's
 *   pending outbox, committed with the entity states in one script;
 * - an **ambient** scope (a node-inbox job, a timer): its messages are committed with the next
 *   commit of the partition of the first entity it changed, or sent at once if it changed none.
 */
export type Scope = JobScope | AmbientScope;

export interface JobScope {
  readonly kind: 'job';
  readonly partition: PartitionId;
  readonly messageId: string;
  /** Children sent so far: their ids are `<messageId>/<n>`, the same when the job is re-run. */
  sent: number;
  readonly crashes: ExitReason[];
  /** Co-located entities the message reached that were not loaded yet: load them and re-run. */
  readonly missing: EntityAddress[];
  /** Keyed records looked up that were not read yet (`record-lookup.ts`): read them and re-run. */
  readonly missingRecords: { readonly address: EntityAddress; readonly key: string }[];
}

export interface AmbientScope {
  readonly kind: 'ambient';
  readonly outbox: OutgoingJob[];
  /** Partitions whose entities changed in this window, in order of first change. */
  readonly partitions: PartitionId[];
  readonly crashes: ExitReason[];
}

export function jobScope(partition: PartitionId, messageId: string): JobScope {
  return { kind: 'job', partition, messageId, sent: 0, crashes: [], missing: [], missingRecords: [] };
}

export function ambientScope(): AmbientScope {
  return { kind: 'ambient', outbox: [], partitions: [], crashes: [] };
}

/**
 * Message ids. A message sent while handling message `m` gets `m/1`, `m/2`, …: the same ids
 * when `m` is handled again after a crash, so the re-sent messages are recognised as duplicates.
 * Long chains are shortened to a hash, so ids stay bounded. Other messages get `<boot>.<n>`,
 * unique per transport instance. No id contains `:` (BullMQ refuses it in job ids).
 */
export class MessageIds {
  readonly #boot = `m${randomBytes(6).toString('base64url').replaceAll(/[-_]/g, 'x')}`;
  #serial = 0;

  fresh(): string {
    return `${this.#boot}.${++this.#serial}`;
  }

  child(scope: JobScope): string {
    const parent = scope.messageId.length > 96 ? `h${createHash('sha1').update(scope.messageId).digest('base64url')}` : scope.messageId;
    return `${parent}/${++scope.sent}`;
  }
}
