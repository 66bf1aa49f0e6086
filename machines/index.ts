import type { EntityKind } from '../src/runtime/entity-host.ts';
import type { SigningKey } from '../src/marketplace/signing-keys.ts';
import { LIFECYCLE_MESSAGE_TYPE, lifecycleMessageRefusal, otherMessageRefusal } from '../src/marketplace/lifecycle-message.ts';
import { GOVERNORS, type GovernorKind } from './governor-protocol.ts';
import { orchestratorMachine } from './orchestrator.ts';
import { orchestratorStateRefusal } from './reused-keys.ts';
import { handledRecordKey, migrateOrchestratorState } from './handled-events.ts';
import { createReceiptsMachine, migrateReceiptsState } from './receipts.ts';
import { defineGovernor, governorRecordKeys, migrateGovernorState, type GovernorDefinition } from './governors/governor-kit.ts';
import { billingGovernor, type BillingData, type BillingState } from './governors/billing.ts';
import { complianceGovernor, type ComplianceData, type ComplianceState } from './governors/compliance.ts';
import { customerAccountGovernor, type AccountData, type AccountState } from './governors/customer-account.ts';
import { createEntitlementGovernor, type EntitlementData, type EntitlementState } from './governors/entitlement.ts';
import { multiTenantGovernor, type TenantData, type TenantState } from './governors/multi-tenant.ts';
import { productCatalogGovernor, type CatalogData, type CatalogState } from './governors/product-catalog.ts';
import { quotaSlaGovernor, type QuotaData, type QuotaState } from './governors/quota-sla.ts';
import { subscriptionGovernor, type SubscriptionData, type SubscriptionState } from './governors/subscription.ts';

/**
 * The marketplace's entity kinds: the Orchestrator, the eight governors and Receipts, one actor
 * of each per customer, spawned on their first message by an `EntityHost`.
 */

export interface MarketplaceMachineOptions {
  /** Key of the receipts' customer pseudonyms (≥ 16 bytes). */
  readonly pseudonymKey: string | Uint8Array;
  /** Signs licence keys and receipt chain heads; without it neither is signed. */
  readonly signingKey?: SigningKey;
}

/** Each governor's states and data, by kind: what its definition is generic in. */
export interface GovernorTypes {
  Entitlement: { state: EntitlementState; data: EntitlementData };
  Billing: { state: BillingState; data: BillingData };
  ProductCatalog: { state: CatalogState; data: CatalogData };
  Subscription: { state: SubscriptionState; data: SubscriptionData };
  CustomerAccount: { state: AccountState; data: AccountData };
  QuotaSla: { state: QuotaState; data: QuotaData };
  Compliance: { state: ComplianceState; data: ComplianceData };
  MultiTenant: { state: TenantState; data: TenantData };
}

/** The states of the governor of kind `K`. */
export type GovernorStateOf<K extends GovernorKind> = GovernorTypes[K]['state'];
/** The data of the governor of kind `K`. */
export type GovernorDataOf<K extends GovernorKind> = GovernorTypes[K]['data'];

/**
 * Each governor's definition, by kind, typed by its own states and data: code that takes a kind
 * `K` (generic) gets the definition and context types of that governor, with no cast.
 */
export type GovernorDefinitions = { readonly [K in GovernorKind]: GovernorDefinition<GovernorStateOf<K>, GovernorDataOf<K>> };

/** Each governor's definition (its domain), for reference models and tools. */
export function governorDefinitions(options: Pick<MarketplaceMachineOptions, 'signingKey'> = {}): GovernorDefinitions {
  return {
    Entitlement: createEntitlementGovernor(options.signingKey ? { signingKey: options.signingKey } : {}),
    Billing: billingGovernor,
    ProductCatalog: productCatalogGovernor,
    Subscription: subscriptionGovernor,
    CustomerAccount: customerAccountGovernor,
    QuotaSla: quotaSlaGovernor,
    Compliance: complianceGovernor,
    MultiTenant: multiTenantGovernor,
  };
}

/** The entity kind of a governor: its machine, the records its messages need, its migrations. */
function governorKind<S extends string, D>(definition: GovernorDefinition<S, D>): EntityKind {
  return {
    kind: definition.kind,
    machine: defineGovernor(definition),
    // Each prepare comes with the record of its event, if it was committed here before, and the
    // records its decision reads (Billing's and QuotaSla's usage keys, Billing's payments).
    recordKey: governorRecordKeys(definition),
    // A state of a layout before (the `committed` list in the context, usage keys, payments or
    // Billing's invoices in the data) moves them to the records.
    migrate: (state) => migrateGovernorState(state, definition),
  };
}

/**
 * The entity kinds for an `EntityHost`.
 * @example
 * new EntityHost(node, marketplaceKinds({ pseudonymKey }), { restore });
 */
export function marketplaceKinds(options: MarketplaceMachineOptions): EntityKind[] {
  const definitions = governorDefinitions(options);
  const governors = GOVERNORS.map(<K extends GovernorKind>(kind: K) => governorKind(definitions[kind]));
  return [
    {
      kind: 'Orchestrator',
      machine: orchestratorMachine,
      // From outside, an orchestrator takes lifecycle events only, each checked as `governor
      // enqueue` checks it: a bad one is dead-lettered with its reason, never parked or retried.
      // (Governor replies reach it as replies to its calls, not as messages.)
      accepts: { [LIFECYCLE_MESSAGE_TYPE]: lifecycleMessageRefusal, '*': otherMessageRefusal },
      // An eventId handled before with other content: refused before the orchestrator sees it.
      checkState: orchestratorStateRefusal,
      // Each lifecycle event comes with its handled record (kept beside the state, forever).
      recordKey: handledRecordKey,
      // A state of the layout before (the `handled` list in the context) moves it to the records.
      migrate: migrateOrchestratorState,
    },
    ...governors,
    {
      kind: 'Receipts',
      machine: createReceiptsMachine({
        pseudonymKey: options.pseudonymKey,
        ...(options.signingKey ? { signingKey: options.signingKey } : {}),
      }),
      // A state of the v1 layout (receipts in the context) moves its receipts to the journal.
      migrate: migrateReceiptsState,
    },
  ];
}

export { orchestratorMachine } from './orchestrator.ts';
export { createReceiptsMachine } from './receipts.ts';
export { defineGovernor } from './governors/governor-kit.ts';
