/**
 * `@governorjs/governor/marketplace`: the marketplace application as a library. The pure domain
 * library (lifecycle events and their validator, tiers, licences, money, pricing, receipts; see
 * src/marketplace/README.md), the orchestrator and governor machines, the supervision tree that
 * runs them on a node, the JSON Schemas producers write against, and `enqueueEvents`, the producer
 * `governor enqueue` uses.
 *
 * Loading this entry loads neither bullmq nor ioredis: `enqueueEvents` loads them on its first call.
 *
 * @example
 * import { parseLifecycleEvent, startMarketplace } from '@governorjs/governor/marketplace';
 */
import type { LifecycleEvent } from './marketplace/event-schema.ts';
import type { EnqueueResult, EnqueueTarget } from './cli/enqueue/producer.ts';

export * from './marketplace/index.ts';
export { LIFECYCLE_JOB_SCHEMA_ID, LifecycleJobSchema, lifecycleJobJsonSchema, lifecycleJobJsonSchemaText } from './cli/enqueue/lifecycle-job-schema.ts';
export type { LifecycleJobData } from './cli/enqueue/lifecycle-job-schema.ts';
// What an eventId stands for (named apart from the receipts' `eventDigest`, which covers occurredAt too).
export { eventDigest as eventContentDigest, keyReusedReason } from './marketplace/event-digest.ts';

// The application: machines, and the tree that runs them on a node.
export { marketplaceKinds, governorDefinitions, orchestratorMachine, createReceiptsMachine, defineGovernor } from '../machines/index.ts';
export type { MarketplaceMachineOptions } from '../machines/index.ts';
export type { Outcome, OrchestratorContext } from '../machines/orchestrator.ts';
export type { HandledOutcome, HandledEvent } from '../machines/handled-events.ts';
export type { GovernorKind, GovernorReply, ReplyStatus } from '../machines/governor-protocol.ts';
export type { GovernorDefinition, GovernorContext } from '../machines/governors/governor-kit.ts';
export { startMarketplace } from '../supervisors/marketplace.ts';
export type { Marketplace, MarketplaceOptions } from '../supervisors/marketplace.ts';

// Producing events into a cluster's queues.
export type { EnqueueTarget, EnqueueResult } from './cli/enqueue/producer.ts';
export type { EventOutcome } from './cli/enqueue/wait.ts';
export type { Admitted, Refused } from './cli/enqueue/throttle.ts';
export { CliError as EnqueueError } from './cli/exit-codes.ts';

/**
 * Enqueues validated lifecycle events to their customers' orchestrators on a BullMQ cluster, as
 * `governor enqueue` does: in the nodes' job format, in batches of `target.batch`, each tenant at its
 * tier's rate; refuses an eventId used before for other content. Resolves with the eventIds
 * enqueued (and, with `waitMs`, each event's outcome); fails with an {@link EnqueueError} whose
 * `exitCode` is the command's (3: Redis unreachable, 2: a reused eventId).
 */
export async function enqueueEvents(target: EnqueueTarget, events: readonly LifecycleEvent[]): Promise<EnqueueResult> {
  const producer = await import('./cli/enqueue/producer.ts');
  return producer.enqueueEvents(target, events);
}
