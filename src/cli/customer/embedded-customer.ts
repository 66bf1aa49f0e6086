import type { LifecycleEvent } from '../../../machines/governor-protocol.ts';
import type { Marketplace } from '../../../supervisors/marketplace.ts';
import { erasureEventId } from '../../marketplace/personal-data.ts';
import { CUSTOMER_KINDS, CustomerNotFoundError, personalDataHeld, receiptLogOf, type CustomerRecords } from './customer-records.ts';

/**
 * GDPR export and erasure on the embedded marketplace (`npm start`, the memory transport): the
 * same records and rules as over Redis, read from the in-process store. There are no queues, so
 * no queued copies or dead letters to redact.
 */

/** The customer's entities as the embedded marketplace has them; throws {@link CustomerNotFoundError} when none. */
export function readEmbeddedCustomer(market: Marketplace, customerId: string): CustomerRecords {
  if (typeof customerId !== 'string' || customerId === '') throw new TypeError("takes a customer id string, e.g. customer_export('c1')");
  market.persist(customerId);
  const entities = CUSTOMER_KINDS.flatMap((entity) => {
    const state = market.stateOf(entity, customerId);
    if (!state) return [];
    const address = { entity, key: customerId };
    return [{ entity, version: market.store.get(address)?.version ?? 0, value: state.value, context: state.context, journal: market.store.journalOf(address), records: market.store.allRecords(address) }];
  });
  if (entities.length === 0) throw new CustomerNotFoundError(customerId);
  return { customerId, entities };
}

/** Everything held about the customer (the export's format, without dead letters: there is no queue). */
export function exportEmbeddedCustomer(market: Marketplace, customerId: string, now: number) {
  const records = readEmbeddedCustomer(market, customerId);
  const log = receiptLogOf(records);
  const account = records.entities.find((e) => e.entity === 'CustomerAccount')?.context as { data?: { contact?: unknown } } | undefined;
  return {
    format: 'governor-customer-export-v1',
    customerId,
    exportedAt: new Date(now).toISOString(),
    personalData: { contact: account?.data?.contact ?? null },
    entities: records.entities,
    receipts: log.receipts,
    log: { treeSize: log.treeSize, rootHash: log.rootHash, firstSeq: log.firstSeq, verifies: log.verified?.ok ?? true },
    deadLetters: [],
  };
}

/** Erases as over Redis (see `eraseCustomer`): one event per customer and log size, processed at once. */
export async function eraseEmbeddedCustomer(market: Marketplace, customerId: string, now: number, requestedBy = 'governor-repl') {
  const before = readEmbeddedCustomer(market, customerId);
  const heldBefore = personalDataHeld(before);
  const compliance = before.entities.find((e) => e.entity === 'Compliance')?.context as { state?: unknown } | undefined;
  if (heldBefore.length === 0 && compliance?.state === 'Erased') return { status: 'already-erased', customerId, heldBefore, heldAfter: [] };
  const eventId = erasureEventId(customerId, receiptLogOf(before).treeSize);
  const event = { type: 'CustomerErasureRequested', eventId, customerId, occurredAt: new Date(now).toISOString(), requestedBy } as LifecycleEvent;
  const outcome = await market.submit(event);
  if (outcome.status === 'rejected') return { status: 'refused', customerId, eventId, reason: outcome.reason, heldBefore };
  const after = readEmbeddedCustomer(market, customerId);
  return { status: 'erased', customerId, eventId, outcome: outcome.status, heldBefore, heldAfter: personalDataHeld(after), receipts: receiptLogOf(after).treeSize };
}
