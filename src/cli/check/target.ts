import type { SimulatedClock } from '../../runtime/clock.ts';
import type { Pid } from '../../runtime/pid.ts';
import { GOVERNORS, type GovernorKind, type LifecycleEvent } from '../../../machines/governor-protocol.ts';
import type { Outcome } from '../../../machines/orchestrator.ts';

/** An actor's state as the property reads it: its state value and context. */
export interface ActorState {
  readonly value: unknown;
  readonly context: unknown;
  /** Its keyed records, field → value, where the property reads them (Billing's: the payments applied, the invoices issued). */
  readonly records?: Readonly<Record<string, unknown>>;
}

/**
 * What the marketplace property runs against: the orchestrator and the governors on one
 * transport, with a simulated clock. Every method resolves once the effects of what it did are
 * committed where the transport keeps them (the memory store, or Redis), and `states` reads
 * them back from there: the property checks what survives, not only what is in memory.
 */
export interface PropertyTarget {
  /** Which transport, for messages. */
  readonly transport: 'memory' | 'bullmq';
  readonly clock: SimulatedClock;
  /** Hands the event to its customer's orchestrator; resolves with its answer once committed. */
  submit(event: LifecycleEvent): Promise<Outcome>;
  /** Time moves on by `ms`: due timers fire, and what they changed is committed. */
  advance(ms: number): Promise<void>;
  /** The governor's process is killed (`boom`) and restarted by its supervisor; its pids before and after. */
  crash(kind: GovernorKind, customerId: string): Promise<{ before: Pid | undefined; after: Pid | undefined }>;
  /** The committed states of a customer's actors, by kind (absent: the actor never existed). */
  states(customerId: string): Promise<Map<string, ActorState>>;
  stop(): Promise<void>;
}

/** Every kind of a customer's actors, as the property reads them. */
export const TARGET_KINDS: readonly string[] = ['Orchestrator', ...GOVERNORS, 'Receipts'];
