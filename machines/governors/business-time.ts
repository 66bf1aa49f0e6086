import type { LifecycleEvent } from '../governor-protocol.ts';

/**
 * The one rule for time, for every governor.
 *
 * 1. **Business decisions use business time**: the event's `occurredAt` ({@link eventTime}), never
 *    a clock and never the time a node received or processed the event. A trial's end, a cycle, a
 *    renewal window, a proration, a usage month, a dunning step: all are counted from the
 *    `occurredAt` of the events that started them. A node refuses an `occurredAt` more than
 *    1 hour ahead of its own clock (`MAX_OCCURRED_AT_AHEAD_MS`, the producers' clock skew); how far
 *    back is not bounded beyond the schema's years 2000–2999: a backdated event is decided at its
 *    own time.
 * 2. **The node's clock is used only for timeouts**: it decides *when* a timer fires, never what a
 *    decision says. A timeout that stands for a business deadline (a trial's end, a reactivation
 *    window, a retention period, a dunning step, a grace period) is computed from business time —
 *    the business time its state was entered plus the wait, or a deadline the data knows (a trial
 *    ends when the plan's first cycle starts) — and armed on the node's clock as that absolute
 *    deadline. A deadline already past fires at once; a restart re-arms the same deadline (it never
 *    restarts the countdown). The business time of the state a timeout leads to is the deadline
 *    itself, so a chain of steps (dunning) stays on business time.
 * 3. **A deadline the timer has not fired yet still counts**: before deciding an event, a governor
 *    applies every business deadline of its current state (and of the states those lead to) that
 *    is at or before the event's business time, as the timers would have (`asOf` in the kit). So a
 *    renewal whose `occurredAt` is after the trial's end is decided against an Active plan even if
 *    the node's clock has not reached that end, or its timer is still on its way. The change is
 *    committed with the event (one version step); if the event changes nothing, the timer still
 *    fires on the node's clock.
 * 4. **Operational waits run on the node's clock** from when the node entered the state: they
 *    protect the system now, whatever time the event says (QuotaSla's throttle and circuit breaker,
 *    MultiTenant's load shedding, the orchestrator's step timeouts). A rule declares it with
 *    `clock: 'node'`.
 *
 * What this means for a producer: events may arrive late or be replayed with their original
 * `occurredAt`; the outcome is the one the rules give at that time, except that a timer the node
 * has already fired (its deadline passed on the node's clock) cannot be taken back by an event
 * that says it happened before it.
 */

/** Epoch milliseconds of an event's `occurredAt`: the business time every decision uses. */
export function eventTime(event: LifecycleEvent): number {
  return Date.parse(event.occurredAt);
}

/** Which clock a timeout runs on (see the rule above). */
export type TimeoutClock = 'business' | 'node';
