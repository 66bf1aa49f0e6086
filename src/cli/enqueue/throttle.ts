import type { Redis } from 'ioredis';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../../marketplace/event-validation.ts';
import { isTierId, TIERS, UNLIMITED, type TierId } from '../../marketplace/tiers.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';
import { withScripts } from '../../store/redis-scripts.ts';

/** The longest a tenant's event may wait for its slot before the next one is refused. @default 10 s */
export const MAX_DELAY_MS = 10_000;
/** A tenant may send this many times its per-second rate at once after a quiet spell. */
export const BURST_SECONDS = 2;
/** A throttled tenant is reported to its governors at most this often. @default 1 min */
export const REPORT_EVERY_MS = 60_000;
/** How long a customer's tier is trusted before it is read again. @default 30 s */
export const TIER_TTL_MS = 30_000;
/** The tier of a customer without a subscription: the smallest, so no one floods unsubscribed. */
export const DEFAULT_TIER: TierId = 'community';

/** An event let through, now (`delayMs` 0) or at its slot of the tenant's rate. */
export interface Admitted {
  readonly event: LifecycleEvent;
  readonly delayMs: number;
}

/** An event refused at the door: its tenant is over its tier's rate by more than the backlog allows. */
export interface Refused {
  readonly event: LifecycleEvent;
  readonly tier: TierId;
  readonly perSecond: number;
  /** Until this event would be admitted, its tenant's refused events retried in order: the first's wait plus one slot per refused event before it. */
  readonly retryAfterMs: number;
}

export interface Admission {
  /** In the order given, per customer. */
  readonly admitted: Admitted[];
  readonly refused: Refused[];
  /**
   * `UsageExceedsQuota` events (resource `request_rate`) for the tenants throttled now, at most
   * one a minute each: MultiTenant escalates on them and QuotaSla throttles (a hard limit).
   * To be sent at once, ahead of the tenant's delayed events.
   */
  readonly reports: LifecycleEvent[];
}

/** A tier's rate, or undefined when the tier has none. */
export function rateOf(tier: TierId): { perSecond: number; burst: number } | undefined {
  const limit = TIERS[tier].limits.requestsPerSecond;
  if (limit === UNLIMITED) return undefined;
  return { perSecond: limit, burst: Math.max(1, Math.ceil(limit * BURST_SECONDS)) };
}

/** The tier in a Subscription governor's stored state, or undefined when it has no plan (or is unreadable). */
export function tierInStoredState(data: string | null): TierId | undefined {
  if (data === null) return undefined;
  try {
    const tier = (JSON.parse(data) as { snapshot?: { context?: { data?: { plan?: { tier?: unknown } | null } } } }).snapshot?.context?.data?.plan?.tier;
    return isTierId(tier) ? tier : undefined;
  } catch {
    // A state the throttle cannot read is the node's problem to report; here it is just "no tier".
    return undefined;
  }
}

/**
 * Per-tenant rate limits in Redis, applied where events come in (`governor enqueue`, the REPL's
 * `enqueue`, `enqueueEvents`): each customer at its tier's `requestsPerSecond` (TIERS, from its
 * committed Subscription), with a burst of two seconds' worth.
 *
 * At the door, not in the nodes: a partition consumes one job at a time, so a job refused there
 * would still cost the partition a fetch and hold up every customer that shares it. Throttling
 * schedules rather than drops (`throttle-3.lua`): an event over the rate is enqueued as a delayed
 * job at its slot, so the tenant's events keep their order and run at its rate, and only an event
 * more than {@link MAX_DELAY_MS} away is refused, with the time to retry after. A producer that
 * writes jobs into the queues directly (SPEC's job format) is not throttled: Redis access is
 * trusted (README, "What Redis access alone allows").
 */
export class TenantThrottle {
  readonly #redis: ReturnType<typeof withScripts>;
  readonly #tiers = new Map<string, { tier: TierId; until: number }>();
  #reports = 0;

  constructor(
    redis: Redis,
    readonly keys: RedisKeys,
    readonly maxDelayMs = MAX_DELAY_MS,
  ) {
    this.#redis = withScripts(redis);
  }

  /** Takes a slot for each event, one round trip for the tiers not known and one for the slots. */
  async admit(events: readonly LifecycleEvent[]): Promise<Admission> {
    const byCustomer = new Map<string, LifecycleEvent[]>();
    for (const event of events) {
      let mine = byCustomer.get(event.customerId);
      if (!mine) byCustomer.set(event.customerId, (mine = []));
      mine.push(event);
    }
    const customers = [...byCustomer.keys()];
    const tiers = await this.#tiersOf(customers);
    const limited = customers.flatMap((customer) => {
      const tier = tiers.get(customer)!;
      const rate = rateOf(tier);
      return rate ? [{ customer, tier, ...rate }] : [];
    });
    // Sent together on one connection: one round trip for all the tenants of the batch.
    const replies = await Promise.all(
      limited.map(({ customer, perSecond, burst }) =>
        this.#redis.govThrottle(
          this.keys.tenantRate(customer),
          this.keys.tenantAttempts(customer),
          this.keys.tenantThrottleReported(customer),
          1000 / perSecond,
          burst,
          this.maxDelayMs,
          byCustomer.get(customer)!.length,
          REPORT_EVERY_MS,
        ),
      ),
    );
    const delays = new Map<string, number[]>();
    const admission: Admission = { admitted: [], refused: [], reports: [] };
    replies.forEach(([report, attempts, retryAfterMs, ...slots], i) => {
      const { customer, tier, perSecond } = limited[i]!;
      delays.set(customer, slots);
      // The script gives the first refused event's wait; each later one comes one slot after it
      // (when they are retried in order), so each is told its own time, not the first one's.
      byCustomer.get(customer)!.slice(slots.length).forEach((event, j) => {
        admission.refused.push({ event, tier, perSecond, retryAfterMs: Math.ceil(retryAfterMs! + (j * 1000) / perSecond) });
      });
      if (report === 1) admission.reports.push(this.#report(customer, attempts!, perSecond));
    });
    // Each customer's events in the order given; the unlimited ones at once.
    const next = new Map<string, number>();
    for (const event of events) {
      const slots = delays.get(event.customerId);
      const i = next.get(event.customerId) ?? 0;
      next.set(event.customerId, i + 1);
      if (!slots) admission.admitted.push({ event, delayMs: 0 });
      else if (i < slots.length) admission.admitted.push({ event, delayMs: slots[i]! });
    }
    return admission;
  }

  async #tiersOf(customers: readonly string[]): Promise<Map<string, TierId>> {
    const now = Date.now();
    const tiers = new Map<string, TierId>();
    const unknown: string[] = [];
    for (const customer of customers) {
      const known = this.#tiers.get(customer);
      if (known && known.until > now) tiers.set(customer, known.tier);
      else unknown.push(customer);
    }
    if (unknown.length === 0) return tiers;
    const stored = await Promise.all(unknown.map((key) => this.#redis.hget(this.keys.state({ entity: 'Subscription', key }), 'd')));
    if (this.#tiers.size > 100_000) this.#tiers.clear();
    unknown.forEach((customer, i) => {
      const tier = tierInStoredState(stored[i] ?? null) ?? DEFAULT_TIER;
      tiers.set(customer, tier);
      this.#tiers.set(customer, { tier, until: now + TIER_TTL_MS });
    });
    return tiers;
  }

  /** The report of a throttled tenant, as an event its orchestrator routes to MultiTenant and QuotaSla. */
  #report(customerId: string, attempts: number, perSecond: number): LifecycleEvent {
    const now = Date.now();
    const checked = parseLifecycleEvent({
      type: 'UsageExceedsQuota',
      eventId: `rate-${now.toString(36)}-${process.pid.toString(36)}-${++this.#reports}`,
      customerId,
      occurredAt: new Date(now).toISOString(),
      resource: 'request_rate',
      // The attempts of this second: a tenant at twice its rate or more is a severe breach.
      usage: Math.max(attempts, perSecond + 1),
      limit: perSecond,
    });
    if (!checked.ok) throw new Error(`the throttle's own report is invalid: ${JSON.stringify(checked.issues)}`);
    return checked.event;
  }
}
