import type { AnyStateMachine } from 'xstate';
import type { EntityKind } from '../src/runtime/entity-host.ts';
import type { SigningKey } from '../src/marketplace/signing-keys.ts';
import { LIFECYCLE_MESSAGE_TYPE, lifecycleMessageRefusal, otherMessageRefusal } from '../src/marketplace/lifecycle-message.ts';
import type { GovernorKind } from './governor-protocol.ts';
import { orchestratorMachine } from './orchestrator.ts';
import { orchestratorStateRefusal } from './reused-keys.ts';
import { handledRecordKey, migrateOrchestratorState } from './handled-events.ts';
import { createReceiptsMachine, migrateReceiptsState } from './receipts.ts';
import { defineGovernor, governorRecordKeys, migrateGovernorState, type GovernorDefinition } from './governors/governor-kit.ts';
import { billingGovernor } from './governors/billing.ts';
import { complianceGovernor } from './governors/compliance.ts';
import { customerAccountGovernor } from './governors/customer-account.ts';
import { createEntitlementGovernor } from './governors/entitlement.ts';
import { multiTenantGovernor } from './governors/multi-tenant.ts';
import { productCatalogGovernor } from './governors/product-catalog.ts';
import { quotaSlaGovernor } from './governors/quota-sla.ts';
import { subscriptionGovernor } from './governors/subscription.ts';

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

/** Each governor's definition (its domain), for reference models and tools. */
export function governorDefinitions(options: Pick<MarketplaceMachineOptions, 'signingKey'> = {}): Record<GovernorKind, GovernorDefinition<string, unknown>> {
  const definitions = {
    Entitlement: createEntitlementGovernor(options.signingKey ? { signingKey: options.signingKey } : {}),
    Billing: billingGovernor,
    ProductCatalog: productCatalogGovernor,
    Subscription: subscriptionGovernor,
    CustomerAccount: customerAccountGovernor,
    QuotaSla: quotaSlaGovernor,
    Compliance: complianceGovernor,
    MultiTenant: multiTenantGovernor,
  };
  return definitions as unknown as Record<GovernorKind, GovernorDefinition<string, unknown>>;
}

/**
 * The entity kinds for an `EntityHost`.
 * @example
 * new EntityHost(node, marketplaceKinds({ pseudonymKey }), { restore });
 */
export function marketplaceKinds(options: MarketplaceMachineOptions): EntityKind[] {
  const governors = Object.values(governorDefinitions(options)).map(
    (definition): EntityKind => ({
      kind: definition.kind,
      machine: defineGovernor(definition) as AnyStateMachine,
      // Each prepare comes with the record of its event, if it was committed here before, and the
      // records its decision reads (Billing's and QuotaSla's usage keys, Billing's payments).
      recordKey: governorRecordKeys(definition),
      // A state of a layout before (the `committed` list in the context, usage keys, payments or
      // Billing's invoices in the data) moves them to the records.
      migrate: (state) => migrateGovernorState(state, definition),
    }),
  );
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
