/**
 * `npm run bench -- age`: what a customer's age (the events it has lived through) does to the cost
 * of its next event, on the embedded marketplace (memory transport, the state persisted after each
 * event as `submit` does). One customer that stays ({@link longLivedCustomer}: usage reports all
 * month, a renewal and a payment each month) lives through its events; at each age in `AGES` the
 * next `TIMED` events are timed (wall clock and this process's CPU time) and its persisted state is
 * weighed (every entity's JSON); at the oldest age the context fields that grew are printed. (The
 * lifecycle script of the other benches cancels after seven steps and is refused from then on: its
 * customer does not age.)
 *
 * The young customer is the baseline in the same run: `ratio` is the oldest age's cost per event
 * over the youngest's. It would be 1 if an event's cost did not depend on the history behind it;
 * any record of that history an entity kept in its state would be rewritten with each event. The
 * history lives beside the states (the receipts in the journal, handled events and committed
 * replies as keyed records): `records` counts the orchestrator's, which grow with age while the
 * states do not. Goal (issue 15): ratio ≤ 1.25 and old_state_bytes ≤ 1.2 × young_state_bytes at
 * 10,000 events.
 */
import { createNode } from '../src/create-node.ts';
import { SimulatedClock } from '../src/runtime/clock.ts';
import type { LifecycleEvent } from '../machines/governor-protocol.ts';
import { startMarketplace } from '../supervisors/marketplace.ts';
import { parseLifecycleEvent } from '../src/marketplace/event-validation.ts';
import { round } from './stats.ts';

/** `AGE_BENCH_AGES=10,500 npm run bench -- age` for a shorter run (ages ascending, the first is the baseline). */
const AGES = process.env.AGE_BENCH_AGES ? process.env.AGE_BENCH_AGES.split(',').map(Number) : [10, 100, 1_000, 10_000];
/** Events timed at each age: enough that one slow event (a GC pause) does not make the figure. */
const TIMED = 200;
/** Events of a warm-up customer before anything is timed. */
const WARM_UP = 500;
const KINDS = ['Orchestrator', 'Entitlement', 'Billing', 'ProductCatalog', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant', 'Receipts'];

/** Every `USAGE_RESENT_EVERY`-th usage report is sent again under another eventId: the producer's retry, counted once. */
const USAGE_RESENT_EVERY = 10;
const HOUR_MS = 3_600_000;

/**
 * A customer that stays: it subscribes once, reports usage every hour under a key of its own
 * (every `USAGE_RESENT_EVERY`-th report resent, a duplicate by its key), and each day its renewal
 * and a payment of the base fee are sent (accepted once a month: the renewal when its window
 * opens, the payment when an invoice is due; refused as not due the other days). What its
 * governors must recognise (usage keys, payment ids, event ids) grows with its age.
 */
export function longLivedCustomer(count: number): LifecycleEvent[] {
  const customerId = 'customer-age';
  const start = Date.UTC(2026, 0, 1);
  const events: LifecycleEvent[] = [];
  const push = (hour: number, fields: Record<string, unknown>) => {
    const checked = parseLifecycleEvent({ eventId: `age-${hour}`, customerId, occurredAt: new Date(start + hour * HOUR_MS).toISOString(), ...fields });
    if (!checked.ok) throw new Error(`the benchmark's own event is invalid: ${JSON.stringify(checked.issues)}`);
    events.push(checked.event);
    return checked.event;
  };
  push(0, { type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' });
  for (let hour = 1; events.length < count; hour++) {
    if (hour % 24 === 0) push(hour, { type: 'RenewalDue', subscriptionId: 'age-0' });
    else if (hour % 24 === 1) push(hour, { type: 'PaymentProcessed', amount: '99.00', currency: 'USD', paymentId: `pay-${hour}` });
    else {
      const report = push(hour, { type: 'UsageRecorded', metric: 'executions', quantity: 1, idempotencyKey: `usage-${hour}` });
      if (hour % USAGE_RESENT_EVERY === 0) events.push({ ...report, eventId: `${report.eventId}-again` });
    }
  }
  return events;
}

export async function main(): Promise<Record<string, unknown>> {
  // The script's events are an hour apart from 2026-01-01: past 10,000 of them they are ahead of
  // today, which a node refuses (occurredAt more than 60 minutes ahead). The clock is now's, and
  // follows an event that would be ahead of it, as a real clock would have by the time it came.
  const clock = new SimulatedClock(Date.now());
  const node = createNode({ name: 'age-bench', clock });
  const market = startMarketplace(node, { pseudonymKey: 'age-benchmark-pseudonym-key' });
  const submit = (event: LifecycleEvent) => {
    const at = Date.parse(event.occurredAt);
    if (at > clock.now()) clock.set(at);
    return market.submit(event);
  };
  // A customer of its own first, so that the young age is not timed on a cold JIT.
  for (const event of longLivedCustomer(WARM_UP)) await submit({ ...event, customerId: 'warm-up' });
  const events = longLivedCustomer(AGES.at(-1)! + TIMED);
  const customer = events[0]!.customerId;
  const bytesOf = (kind: string) => JSON.stringify(market.store.get({ entity: kind, key: customer })?.state ?? null).length;
  const stateBytes = () => {
    market.persist(customer);
    return KINDS.reduce((sum, kind) => sum + bytesOf(kind), 0);
  };
  /** `Kind.field` of the persisted contexts (one level into `data`) → JSON bytes. */
  const fieldSizes = () => {
    const sizes = new Map<string, number>();
    for (const kind of KINDS) {
      const context = (market.store.get({ entity: kind, key: customer })?.state.snapshot as { context?: Record<string, unknown> } | undefined)?.context ?? {};
      for (const [field, value] of Object.entries(context)) {
        const nested = field === 'data' && typeof value === 'object' && value !== null ? Object.entries(value) : [[field, value] as const];
        for (const [name, inner] of nested) sizes.set(`${kind}.${field === 'data' ? 'data.' : ''}${name}`, JSON.stringify(inner ?? null).length);
      }
    }
    return sizes;
  };
  /** The fields that grew most from the youngest age to now, `name young→old`. */
  const grownFields = (young: Map<string, number>, count = 8) =>
    [...fieldSizes()]
      .map(([name, bytes]) => [name, young.get(name) ?? 0, bytes] as const)
      .filter(([, before, after]) => after > before)
      .sort((a, b) => b[2] - b[1] - (a[2] - a[1]))
      .slice(0, count)
      .map(([name, before, after]) => `${name} ${before}→${after}`);
  let youngFields = new Map<string, number>();
  // The receipts' share of the state (rewritten with every event while they lived in it).
  const figures: { age: number; ms_per_event: number; cpu_ms_per_event: number; state_bytes: number; receipts_state_bytes: number; records: number }[] = [];
  const records = () => market.store.recordCount({ entity: 'Orchestrator', key: customer });
  let age = 0;
  try {
    for (const target of AGES) {
      while (age < target) await submit(events[age++]!);
      const bytes = stateBytes();
      // Weighed with the rest, before the timed events (after them it would be another age's).
      const receiptsBytes = bytesOf('Receipts');
      if (target === AGES[0]) youngFields = fieldSizes();
      // Each age starts from a collected heap: the garbage of the events before is not its cost.
      globalThis.gc?.();
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < TIMED; i++) await submit(events[age++]!);
      const ms = (performance.now() - start) / TIMED;
      const cpu = process.cpuUsage(cpuStart);
      const cpuMs = (cpu.user + cpu.system) / 1000 / TIMED;
      figures.push({ age: target, ms_per_event: round(ms, 3), cpu_ms_per_event: round(cpuMs, 3), state_bytes: bytes, receipts_state_bytes: receiptsBytes, records: records() });
      console.log(`age ${target}: ${round(ms, 3)} ms per event (${round(cpuMs, 3)} ms CPU), ${bytes} bytes of state (receipts ${receiptsBytes}), ${records()} handled records`);
    }
    // Anything in the states that grows with age shows here.
    console.log(`context fields grown from age ${AGES[0]} to ${AGES.at(-1)} (bytes): ${grownFields(youngFields).join(', ') || 'none'}`);
  } finally {
    await market.stop();
  }
  const young = figures[0]!;
  const old = figures.at(-1)!;
  return {
    bench: 'age',
    young_age: young.age,
    young_ms_per_event: young.ms_per_event,
    young_cpu_ms_per_event: young.cpu_ms_per_event,
    old_age: old.age,
    old_ms_per_event: old.ms_per_event,
    old_cpu_ms_per_event: old.cpu_ms_per_event,
    ratio: round(old.ms_per_event / young.ms_per_event, 2),
    cpu_ratio: round(old.cpu_ms_per_event / young.cpu_ms_per_event, 2),
    young_state_bytes: young.state_bytes,
    old_state_bytes: old.state_bytes,
    state_ratio: round(old.state_bytes / young.state_bytes, 2),
    young_receipts_state_bytes: young.receipts_state_bytes,
    old_receipts_state_bytes: old.receipts_state_bytes,
    ages: figures,
  };
}
