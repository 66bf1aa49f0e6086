import type { Redis } from 'ioredis';
import { GovernorError } from '../../errors.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../../marketplace/event-validation.ts';
import { erasureEventId } from '../../marketplace/personal-data.ts';
import type { SigningKey } from '../../marketplace/signing-keys.ts';
import { RedisStore } from '../../store/redis-store.ts';
import type { Placement } from '../../transport/bullmq/options.ts';
import { EventThrottledError } from '../admin-operations.ts';
import { enqueueEvents } from '../enqueue/producer.ts';
import type { EventOutcome } from '../enqueue/wait.ts';
import { sleep } from '../../runtime/retry.ts';
import { contextOf, personalDataHeld, readCustomer, receiptLogOf, signExportHead, type CustomerRecords } from './customer-records.ts';
import { customerDeadLetters, redactQueuedCopies, type QueuedCopiesReport } from './queued-copies.ts';

/**
 * GDPR export and erasure of one customer over Redis, as `governor customer export|erase` and the
 * REPL's `customer_export` / `customer_erase` run them (the CLI from outside, a BullMQ node from
 * inside: the same code).
 */

/** Where the nodes keep their data. */
export interface CustomerTarget {
  /** A connection the caller owns (not closed here). */
  readonly redis: Redis;
  readonly url: string;
  readonly prefix: string;
  /** The nodes' partition count. @default 16 */
  readonly partitions?: number;
  readonly placement?: Placement;
}

/** An export: `receipts` and `head` are where `governor audit verify --file` reads them. */
export interface CustomerExport {
  readonly format: 'governor-customer-export-v1';
  readonly customerId: string;
  readonly exportedAt: string;
  /** The personal-data record (CustomerAccount's `contact`), `null` when none is held. */
  readonly personalData: { readonly contact: unknown };
  /** Every entity of the customer as committed: state value, context (the data), version, and its keyed records. */
  readonly entities: CustomerRecords['entities'];
  /** The receipt log from genesis (the Receipts journal). */
  readonly receipts: readonly unknown[];
  /** The log as its Receipts state records it, and whether the receipts match it. */
  readonly log: { readonly treeSize: number; readonly rootHash: string | null; readonly firstSeq: number; readonly verifies: boolean; readonly problem?: string };
  /** A v2 signed tree head (with a signing key), or why there is none. */
  readonly head?: unknown;
  readonly headNote?: string;
  /** Dead letters whose message was to one of the customer's entities, as stored. */
  readonly deadLetters: readonly { readonly id: string | undefined; readonly data: unknown }[];
}

/** Everything held about `customerId`; throws `CustomerNotFoundError` when nothing is. */
export async function exportCustomer(target: CustomerTarget, customerId: string, options: { signingKey?: SigningKey; now?: () => number } = {}): Promise<CustomerExport> {
  const store = new RedisStore(target.redis, { prefix: target.prefix });
  const records = await readCustomer(store, customerId, target.redis);
  const log = receiptLogOf(records);
  const at = (options.now ?? Date.now)();
  const head = options.signingKey ? signExportHead(records, options.signingKey, at) : undefined;
  const letters = await customerDeadLetters(target.redis, store.keys, customerId);
  const account = contextOf(records, 'CustomerAccount') as { data?: { contact?: unknown } } | undefined;
  return {
    format: 'governor-customer-export-v1',
    customerId,
    exportedAt: new Date(at).toISOString(),
    personalData: { contact: account?.data?.contact ?? null },
    entities: records.entities,
    receipts: log.receipts,
    log: {
      treeSize: log.treeSize,
      rootHash: log.rootHash,
      firstSeq: log.firstSeq,
      verifies: log.verified?.ok ?? true,
      ...(log.verified && !log.verified.ok ? { problem: `${log.verified.kind} at ${log.verified.position}: ${log.verified.message}` } : {}),
    },
    ...(head === undefined
      ? { headNote: 'no signing key given (--signing-key kid=seed or GOVERNOR_SIGNING_KEY): the export has no signed head; audit verify checks it as a chain from genesis' }
      : 'error' in head
        ? { headNote: head.error }
        : { head }),
    deadLetters: letters.map((l) => ({ id: l.id, data: l.data })),
  };
}

/** The erasure could not be confirmed in time: the request is queued or in flight, nothing is lost; run erase again. */
export class ErasureTimeoutError extends GovernorError {
  constructor(readonly customerId: string, readonly eventId: string, what: string) {
    super('ERASURE_TIMEOUT', `the erasure of ${customerId} (event ${eventId}) ${what}; are nodes running on this Redis and prefix? Run erase again: it is idempotent`);
  }
}

/** What an erasure did. */
export type ErasureReport =
  | {
      readonly status: 'erased' | 'already-erased';
      readonly customerId: string;
      /** The erasure event (absent when there was nothing to erase and it had been erased before). */
      readonly eventId?: string;
      readonly outcome?: EventOutcome;
      /** Where personal data was before (`Entity.field`), and is after (empty, unless an event after the erasure brought a new record). */
      readonly heldBefore: readonly string[];
      readonly heldAfter: readonly string[];
      readonly queued: QueuedCopiesReport;
      readonly receipts: number;
    }
  | { readonly status: 'refused'; readonly customerId: string; readonly eventId: string; readonly reason: string; readonly heldBefore: readonly string[] };

/**
 * Erases the customer's personal data, as a lifecycle event with its own receipt:
 * 1. read its entities (none: `CustomerNotFoundError`); nothing held and Compliance `Erased`:
 *    already erased, no second event (step 5 still runs: it is idempotent);
 * 2. enqueue `CustomerErasureRequested` under {@link erasureEventId} (one id per customer and log
 *    size: two erasures racing are one event) and wait for its orchestrator's outcome;
 * 3. `rejected` (a legal hold) or dead-lettered: report it, change nothing more;
 * 4. wait until its effects are committed: Compliance's and CustomerAccount's pending change
 *    applied, its receipt in the log (the salt destroyed with it);
 * 5. redact the copies in queues and dead letters.
 */
export async function eraseCustomer(
  target: CustomerTarget,
  customerId: string,
  options: { requestedBy?: string; timeoutMs?: number; now?: () => number; pollMs?: number } = {},
): Promise<ErasureReport> {
  const store = new RedisStore(target.redis, { prefix: target.prefix });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const partitions = target.partitions ?? 16;
  const before = await readCustomer(store, customerId);
  const heldBefore = personalDataHeld(before);
  const compliance = contextOf(before, 'Compliance') as { state?: unknown } | undefined;
  const generation = receiptLogOf(before).treeSize;
  if (heldBefore.length === 0 && compliance?.state === 'Erased') {
    const queued = await redactQueuedCopies(target.redis, store.keys, customerId, partitions);
    return { status: 'already-erased', customerId, heldBefore, heldAfter: [], queued, receipts: generation };
  }
  const eventId = erasureEventId(customerId, generation);
  const parsed = parseLifecycleEvent({
    type: 'CustomerErasureRequested',
    eventId,
    customerId,
    occurredAt: new Date((options.now ?? Date.now)()).toISOString(),
    requestedBy: options.requestedBy ?? 'governor-cli',
  });
  if (!parsed.ok) throw new TypeError(`the erasure request is not a valid event: ${parsed.issues.map((i) => i.message).join('; ')}`);
  const event: LifecycleEvent = parsed.event;
  const result = await enqueueEvents({ url: target.url, prefix: target.prefix, partitions, placement: target.placement, batch: 1, waitMs: timeoutMs }, [event]);
  const refused = result.throttled[0];
  if (refused) throw new EventThrottledError(customerId, refused.tier, refused.perSecond, refused.retryAfterMs);
  const outcome = result.outcomes?.get(eventId) ?? { status: 'pending' };
  const final = outcome.status === 'duplicate' ? outcome.original : outcome;
  if (final.status === 'rejected' || final.status === 'dead-lettered') return { status: 'refused', customerId, eventId, reason: final.reason, heldBefore };
  if (final.status === 'pending') throw new ErasureTimeoutError(customerId, eventId, `was not handled within ${timeoutMs} ms`);
  const after = await settled(store, customerId, eventId, generation, Date.now() + timeoutMs, options.pollMs ?? 100);
  const queued = await redactQueuedCopies(target.redis, store.keys, customerId, partitions);
  return { status: 'erased', customerId, eventId, outcome, heldBefore, heldAfter: personalDataHeld(after), queued, receipts: receiptLogOf(after).treeSize };
}

/** Polls until the erasure's effects are committed everywhere (see {@link eraseCustomer} step 4). */
async function settled(store: RedisStore, customerId: string, eventId: string, generation: number, deadline: number, pollMs: number): Promise<CustomerRecords> {
  for (;;) {
    const records = await readCustomer(store, customerId);
    const pendingIn = ['Compliance', 'CustomerAccount'].filter((kind) => (contextOf(records, kind) as { pending?: { eventId?: unknown } | null } | undefined)?.pending?.eventId === eventId);
    const receipts = contextOf(records, 'Receipts') as { recent?: unknown } | undefined;
    const receipted = (Array.isArray(receipts?.recent) && receipts.recent.includes(eventId)) || receiptLogOf(records).treeSize > generation;
    if (pendingIn.length === 0 && receipted) return records;
    if (Date.now() >= deadline) throw new ErasureTimeoutError(customerId, eventId, `was decided, but ${[...pendingIn, ...(receipted ? [] : ['its receipt'])].join(', ')} not yet committed`);
    await sleep(pollMs);
  }
}
