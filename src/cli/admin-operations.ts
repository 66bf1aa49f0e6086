import { GovernorError } from '../errors.ts';
import type { LifecycleEvent } from '../marketplace/event-schema.ts';
import type { EventValidationIssue } from '../marketplace/event-validation.ts';
import type { DeadLetter } from '../transport/bullmq/dead-letters.ts';
import { checkEventValue, describeIssues } from './enqueue/events.ts';

/**
 * The admin commands that act on the application and its queues rather than on one process:
 * `enqueue`, `queues`, `dlq`, `dlq_replay`, `audit_verify`. What they reach depends on where the
 * node runs (the embedded marketplace in memory, or the queues and states in Redis), so each
 * node kind provides its own; the Admin interface and the REPL's table stay one.
 */
export interface AdminOperations {
  /** Validates a lifecycle event as `governor enqueue` does and hands it to its orchestrator. */
  enqueue(event: unknown): Promise<unknown>;
  /** Depth (waiting + delayed), active and failed jobs of each partition queue and of the DLQ. */
  queues(): Promise<QueueCounts[]>;
  /** The dead letters, oldest first. */
  dlq(): Promise<DeadLetter[]>;
  /** Puts a dead letter back into its queue with its message id: `{ queue, jobId }`; an unknown id throws {@link DeadLetterNotFoundError}. */
  dlq_replay(id: string): Promise<unknown>;
  /** One customer's receipt chain verified, or, without a customer, every chain summarised. */
  audit_verify(customerId?: string): Promise<unknown>;
  /** GDPR export: everything held about the customer (see `customer/customer-operations.ts`); a read. */
  customer_export(customerId: string): Promise<unknown>;
  /** GDPR erasure of the customer's personal data, as an event with its own receipt; signed (it changes the system). */
  customer_erase(customerId: string): Promise<unknown>;
}

/** One queue as `queues()` shows it. */
export interface QueueCounts {
  readonly queue: string;
  /** Jobs not yet taken: waiting, prioritized and delayed. */
  readonly depth: number;
  readonly active: number;
  readonly failed: number;
}

/** The command exists, but not on this kind of node (e.g. queues on the embedded node). */
export class AdminUnavailableError extends GovernorError {
  constructor(command: string, why: string) {
    super('ADMIN_UNAVAILABLE', `${command} is not available here: ${why}`);
  }
}

/** An event refused at the door: nothing was enqueued. The message names each field and rule. */
export class EventRejectedError extends GovernorError {
  constructor(readonly issues: readonly EventValidationIssue[]) {
    // One line: the REPL shows errors as one line, and a person fixes the field named first.
    super('EVENT_REJECTED', `the event was not accepted, nothing was enqueued: ${describeIssues(issues).join('; ')}`);
  }
}

/** An event refused by its tenant's rate limit (as `governor enqueue` exit 5): nothing was written. */
export class EventThrottledError extends GovernorError {
  constructor(
    readonly customerId: string,
    readonly tier: string,
    readonly perSecond: number,
    readonly retryAfterMs: number,
  ) {
    super('EVENT_THROTTLED', `customer ${customerId} is over the ${tier} tier's ${perSecond} events/s, nothing was enqueued: retry after ${(Math.ceil(retryAfterMs / 100) / 10).toFixed(1)} s`);
  }
}

/** `dlq_replay` of an id that is not (or no longer) a dead letter. */
export class DeadLetterNotFoundError extends GovernorError {
  constructor(readonly id: string) {
    super('DLQ_NOT_FOUND', `no dead letter "${id}": dlq() lists them (a replayed letter leaves the list)`);
  }
}

/**
 * An event typed at the REPL, validated exactly as `governor enqueue --json` validates (eventId
 * and occurredAt filled in when absent); throws {@link EventRejectedError} otherwise.
 */
export function checkReplEvent(value: unknown, now = Date.now()): LifecycleEvent {
  const checked = checkEventValue(value, 1, now);
  if (!checked.ok) throw new EventRejectedError(checked.issues);
  return checked.event;
}

/** One customer's chain as `audit_verify(customerId)` shows it. */
export type ChainCheck = { customerId: string; ok: boolean; length?: number; found?: false } & Record<string, unknown>;

/** A customer without receipts: nothing to verify, and nothing wrong. */
export function noChain(customerId: string): ChainCheck {
  return { customerId, ok: true, length: 0, found: false };
}

/** What `audit_verify()` without a customer returns: every chain found, and the damaged ones in full. */
export interface ChainsSummary {
  readonly ok: boolean;
  readonly chains: number;
  readonly receipts: number;
  readonly damaged: readonly ({ customerId: string } & Record<string, unknown>)[];
}

/** Folds per-customer verifications into one {@link ChainsSummary}. */
export function summariseChains(checks: readonly ({ customerId: string; ok: boolean; length?: number } & Record<string, unknown>)[]): ChainsSummary {
  const damaged = checks.filter((c) => !c.ok);
  return { ok: damaged.length === 0, chains: checks.length, receipts: checks.reduce((n, c) => n + (c.length ?? 0), 0), damaged };
}

/** Operations for a node that has none of these (a bare node in tests): each says so. */
export function unavailableOperations(why: string): AdminOperations {
  const refuse = (command: string) => () => Promise.reject(new AdminUnavailableError(command, why));
  return {
    enqueue: refuse('enqueue'),
    queues: refuse('queues'),
    dlq: refuse('dlq'),
    dlq_replay: refuse('dlq_replay'),
    audit_verify: refuse('audit_verify'),
    customer_export: refuse('customer_export'),
    customer_erase: refuse('customer_erase'),
  };
}
