import { GovernorError } from '../../errors.ts';
import { GOVERNORS } from '../../marketplace/event-routing.ts';
import { verifyReceipts, type ReceiptsContext } from '../../../machines/receipts.ts';
import { signTreeHead, type SignedTreeHead } from '../../marketplace/receipt-tree-head.ts';
import { frontierRoot, isMerkleFrontier } from '../../marketplace/merkle.ts';
import type { SigningKey } from '../../marketplace/signing-keys.ts';
import type { EntityAddress } from '../../runtime/entity.ts';
import type { Redis } from 'ioredis';
import { decodeRecord } from '../../store/entity-records.ts';
import type { RedisStore } from '../../store/redis-store.ts';

/**
 * What Governor holds about one customer in Redis, read for a GDPR export (Art. 15 and 20) and
 * checked before and after an erasure: the committed state of each of its ten entities (its
 * orchestrator, the eight governors, its receipts), the entities' journals (the receipt log from
 * genesis), for an export their keyed records (the history beside each state: handled events,
 * usage keys, payments, invoices), and the log's size and root as its Receipts state records them.
 */

/** The entity kinds of one customer, keyed by its id: what an export reads and an erasure checks. */
export const CUSTOMER_KINDS: readonly string[] = ['Orchestrator', ...GOVERNORS, 'Receipts'];

/** A customer id that no entity has ever committed anything for. */
export class CustomerNotFoundError extends GovernorError {
  constructor(readonly customerId: string) {
    super(
      'CUSTOMER_NOT_FOUND',
      `no customer ${JSON.stringify(customerId)}: none of its ${CUSTOMER_KINDS.length} entities (${CUSTOMER_KINDS.join(', ')}) has committed a state under this prefix; ` +
        'check the id (case matters), --prefix and --redis',
    );
  }
}

/** One entity of the customer as committed. */
export interface CustomerEntity {
  readonly entity: string;
  readonly version: number;
  readonly value: unknown;
  readonly context: unknown;
  /** Its journal's entries (receipts for Receipts; empty for the others today). */
  readonly journal: readonly unknown[];
  /**
   * Its keyed records, field → value (e.g. Billing's `invoice:<id>`, `payment:<id>`): history kept
   * beside the state, part of what is held about the customer. Read for an export only.
   */
  readonly records?: Readonly<Record<string, unknown>>;
}

/** Everything read about a customer. */
export interface CustomerRecords {
  readonly customerId: string;
  readonly entities: readonly CustomerEntity[];
}

/**
 * Reads every entity of the customer (one round trip for the states, one per journal, with
 * `recordsFrom` one per entity for its records hash, `store`'s key layout); throws
 * {@link CustomerNotFoundError} when none exists.
 */
export async function readCustomer(store: RedisStore, customerId: string, recordsFrom?: Redis): Promise<CustomerRecords> {
  if (typeof customerId !== 'string' || customerId === '') throw new TypeError('a customer id is a non-empty string, e.g. governor customer export c1');
  const addresses: EntityAddress[] = CUSTOMER_KINDS.map((entity) => ({ entity, key: customerId }));
  const stored = await store.loadMany(addresses);
  const entities: CustomerEntity[] = [];
  for (const [i, s] of stored.entries()) {
    if (!s) continue;
    const snapshot = (s.state.snapshot ?? {}) as { value?: unknown; context?: unknown };
    const journal = (s.state.journalLength ?? 0) > 0 ? await store.readJournal(addresses[i]!) : [];
    const records = recordsFrom ? await readAllRecords(recordsFrom, store.keys.records(addresses[i]!)) : undefined;
    entities.push({ entity: addresses[i]!.entity, version: s.version, value: snapshot.value, context: snapshot.context, journal, ...(records ? { records } : {}) });
  }
  if (entities.length === 0) throw new CustomerNotFoundError(customerId);
  return { customerId, entities };
}

/** Every record of an entity's records hash, decoded (an unreadable one throws: an export never leaves one out silently). */
async function readAllRecords(redis: Redis, key: string): Promise<Record<string, unknown>> {
  const fields = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(fields).map(([field, text]) => [field, decodeRecord(key, field, text)]));
}

/** The context of one entity kind, if the customer has it. */
export function contextOf(records: CustomerRecords, entity: string): Record<string, unknown> | undefined {
  const found = records.entities.find((e) => e.entity === entity);
  return found && typeof found.context === 'object' && found.context !== null ? (found.context as Record<string, unknown>) : undefined;
}

/** The customer's receipt log: its receipts and how they check against the Receipts state. */
export function receiptLogOf(records: CustomerRecords): { receipts: readonly unknown[]; treeSize: number; rootHash: string | null; firstSeq: number; verified: ReturnType<typeof verifyReceipts> | null } {
  const entity = records.entities.find((e) => e.entity === 'Receipts');
  if (!entity) return { receipts: [], treeSize: 0, rootHash: null, firstSeq: 0, verified: null };
  const context = entity.context as Partial<ReceiptsContext>;
  const valid = isMerkleFrontier(context.log);
  return {
    receipts: entity.journal,
    treeSize: valid ? context.log!.size : 0,
    rootHash: valid ? frontierRoot(context.log!) : null,
    firstSeq: context.firstSeq ?? 0,
    verified: verifyReceipts(context, entity.journal),
  };
}

/**
 * A v2 signed tree head over the customer's log as committed, signed by the exporter's key, so the
 * export verifies with `governor audit verify --file <export> --public-key kid=key`. Signed only
 * when the journal matches the state's root (a damaged log gets no head, and the export says why).
 * Its log id is the pseudonym the receipts carry, never the raw customer id.
 */
export function signExportHead(records: CustomerRecords, key: SigningKey, at: number): SignedTreeHead | { error: string } {
  const log = receiptLogOf(records);
  if (log.treeSize === 0 || log.rootHash === null) return { error: 'the customer has no receipts: nothing to sign' };
  if (!log.verified?.ok) return { error: `the log does not verify against its state, so it is not signed: ${log.verified && !log.verified.ok ? log.verified.message : 'unknown'}` };
  const first = log.receipts[0] as { entry?: { customerRef?: unknown } } | undefined;
  const logId = typeof first?.entry?.customerRef === 'string' ? first.entry.customerRef : 'unknown';
  return signTreeHead({ logId, treeSize: log.treeSize, rootHash: log.rootHash, firstSeq: log.firstSeq, signedAt: at }, key);
}

/**
 * Where the customer's personal data still is in its states: a list of `Entity.field` (empty once
 * erased). Read by the erasure to know whether there is anything to do, and whether it is done.
 */
export function personalDataHeld(records: CustomerRecords): string[] {
  const held: string[] = [];
  const account = contextOf(records, 'CustomerAccount') as { data?: { contact?: unknown; holdReason?: unknown } } | undefined;
  if (account?.data?.contact !== undefined && account.data.contact !== null) held.push('CustomerAccount.contact');
  if (typeof account?.data?.holdReason === 'string' && account.data.holdReason !== '[erased]') held.push('CustomerAccount.holdReason');
  const compliance = contextOf(records, 'Compliance') as { data?: { auditReason?: unknown } } | undefined;
  if (typeof compliance?.data?.auditReason === 'string') held.push('Compliance.auditReason');
  const receipts = contextOf(records, 'Receipts') as { personalSalt?: unknown } | undefined;
  if (typeof receipts?.personalSalt === 'string') held.push('Receipts.personalSalt');
  // The key to the personal half of the orchestrator's handled-event records (`handled-events.ts`).
  const orchestrator = contextOf(records, 'Orchestrator') as { personalSalt?: unknown } | undefined;
  if (orchestrator?.personalSalt !== undefined) held.push('Orchestrator.personalSalt');
  return held;
}
