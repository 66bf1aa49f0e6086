import type { LifecycleEventType } from './event-schema.ts';

/**
 * Which governors handle which event, in order (SPEC §4). The orchestrator asks them all at once
 * and reads their answers in this order (`machines/fan-out.ts`), and compensates in reverse.
 *
 * Not in SPEC's table, chosen here: `UsageRecorded` goes to QuotaSla (limits first, so a usage
 * report can be refused before it is billed) then Billing; catalog operations go to
 * ProductCatalog alone, which serves the others' look-ups.
 */

/** The eight governors, in SPEC order. */
export const GOVERNORS = [
  'Entitlement',
  'Billing',
  'ProductCatalog',
  'Subscription',
  'CustomerAccount',
  'QuotaSla',
  'Compliance',
  'MultiTenant',
] as const;
/** A governor name. */
export type GovernorName = (typeof GOVERNORS)[number];

/** Event type → governors, in the order they are called. */
export const EVENT_ROUTES: Readonly<Record<LifecycleEventType, readonly GovernorName[]>> = {
  CustomerSubscribes: ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance'],
  CustomerUpgrades: ['Entitlement', 'Billing', 'Subscription', 'QuotaSla'],
  PaymentProcessed: ['Billing', 'Entitlement', 'CustomerAccount'],
  PaymentFailed: ['Billing', 'Entitlement', 'CustomerAccount', 'Compliance'],
  UsageExceedsQuota: ['QuotaSla', 'Billing', 'CustomerAccount', 'Entitlement', 'MultiTenant'],
  CustomerCancels: ['Subscription', 'Entitlement', 'Billing', 'CustomerAccount', 'Compliance'],
  // "all but ProductCatalog", in SPEC order
  ManualSuspension: GOVERNORS.filter((g) => g !== 'ProductCatalog'),
  RenewalDue: ['Subscription', 'Billing', 'Entitlement'],
  // Compliance first: a legal hold (an open audit) refuses the erasure before anything changes.
  CustomerErasureRequested: ['Compliance', 'CustomerAccount'],
  UsageRecorded: ['QuotaSla', 'Billing'],
  CatalogPublish: ['ProductCatalog'],
  CatalogDeprecate: ['ProductCatalog'],
  CatalogReprice: ['ProductCatalog'],
};

/** The governors of an event type, in call order. */
export function governorsFor(type: LifecycleEventType): readonly GovernorName[] {
  return EVENT_ROUTES[type];
}
