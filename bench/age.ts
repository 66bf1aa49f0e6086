/**
 * `npm run bench -- age`: what a customer's age (the events it has lived through) does to the cost
 * of its next event, on the embedded marketplace (memory transport, the state persisted after each
 * event as `submit` does). One customer lives through the lifecycle script; at each age in `AGES`
 * the next `TIMED` events are timed and its persisted state is weighed (every entity's JSON).
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
import { lifecycleRounds } from './lifecycle-events.ts';
import { round } from './stats.ts';

/** `AGE_BENCH_AGES=10,500 npm run bench -- age` for a shorter run (ages ascending, the first is the baseline). */
const AGES = process.env.AGE_BENCH_AGES ? process.env.AGE_BENCH_AGES.split(',').map(Number) : [10, 100, 1_000, 10_000];
/** Events timed at each age: enough that one slow event (a GC pause) does not make the figure. */
const TIMED = 200;
/** Events of a warm-up customer before anything is timed. */
const WARM_UP = 500;
const KINDS = ['Orchestrator', 'Entitlement', 'Billing', 'ProductCatalog', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant', 'Receipts'];

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
  for (const event of lifecycleRounds('warm', 1, 0, WARM_UP)) await submit({ ...event, customerId: 'warm-up' });
  // One step of the script per round (it restarts after each cancellation), every 20th sent twice.
  const events = lifecycleRounds('age', 1, 0, AGES.at(-1)! + TIMED);
  const customer = events[0]!.customerId;
  const bytesOf = (kind: string) => JSON.stringify(market.store.get({ entity: kind, key: customer })?.state ?? null).length;
  const stateBytes = () => {
    market.persist(customer);
    return KINDS.reduce((sum, kind) => sum + bytesOf(kind), 0);
  };
  // The receipts' share of the state (rewritten with every event while they lived in it).
  const figures: { age: number; ms_per_event: number; state_bytes: number; receipts_state_bytes: number; records: number }[] = [];
  const records = () => market.store.recordCount({ entity: 'Orchestrator', key: customer });
  let age = 0;
  try {
    for (const target of AGES) {
      while (age < target) await submit(events[age++]!);
      const bytes = stateBytes();
      // Each age starts from a collected heap: the garbage of the events before is not its cost.
      globalThis.gc?.();
      const start = performance.now();
      for (let i = 0; i < TIMED; i++) await submit(events[age++]!);
      const ms = (performance.now() - start) / TIMED;
      figures.push({ age: target, ms_per_event: round(ms, 3), state_bytes: bytes, receipts_state_bytes: bytesOf('Receipts'), records: records() });
      console.log(`age ${target}: ${round(ms, 3)} ms per event, ${bytes} bytes of state (receipts ${bytesOf('Receipts')}), ${records()} handled records`);
    }
  } finally {
    await market.stop();
  }
  const young = figures[0]!;
  const old = figures.at(-1)!;
  return {
    bench: 'age',
    young_age: young.age,
    young_ms_per_event: young.ms_per_event,
    old_age: old.age,
    old_ms_per_event: old.ms_per_event,
    ratio: round(old.ms_per_event / young.ms_per_event, 2),
    young_state_bytes: young.state_bytes,
    old_state_bytes: old.state_bytes,
    state_ratio: round(old.state_bytes / young.state_bytes, 2),
    young_receipts_state_bytes: young.receipts_state_bytes,
    old_receipts_state_bytes: old.receipts_state_bytes,
    ages: figures,
  };
}
