import type { LifecycleEventType } from '../../src/marketplace/event-schema.ts';

/** One valid example of every event type, shared by the event tests. */
export const VALID_EVENTS: Record<LifecycleEventType, Record<string, unknown>> = {
  CustomerSubscribes: { sku: 'PRO-MONTHLY', tier: 'professional' },
  CustomerUpgrades: { fromSku: 'PRO-MONTHLY', toSku: 'ENT-ANNUAL' },
  PaymentProcessed: { amount: '616.00', currency: 'USD', paymentId: 'pay_123' },
  PaymentFailed: { reason: 'card declined', paymentId: 'pay_124' },
  UsageExceedsQuota: { resource: 'executions', usage: 1001, limit: 1000 },
  CustomerCancels: { reason: 'moving to another provider' },
  ManualSuspension: { reason: 'fraud review', actor: 'ops.alice' },
  RenewalDue: { subscriptionId: 'sub:2025:42' },
  CustomerErasureRequested: { requestedBy: 'ops.dpo' },
  UsageRecorded: { metric: 'compute_gb_hours', quantity: '0.25', idempotencyKey: 'run-9f2c' },
  CatalogPublish: { itemKind: 'template', itemId: 'etl-starter', version: '1.4.0-beta.2' },
  CatalogDeprecate: { itemKind: 'sku', itemId: 'PRO-LEGACY', reason: 'replaced by PRO-MONTHLY' },
  CatalogReprice: { itemKind: 'sku', itemId: 'PRO-MONTHLY', price: '109.00', currency: 'USD', effectiveAt: '2025-06-01T00:00:00Z' },
};

/** A complete valid event of `type`. */
export function validEvent(type: LifecycleEventType, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    eventId: 'evt-0001',
    customerId: 'cust-42',
    occurredAt: '2025-03-01T12:00:00.000Z',
    ...VALID_EVENTS[type],
    ...overrides,
  };
}
