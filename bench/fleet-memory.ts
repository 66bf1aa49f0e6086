/**
 * `npm run bench -- fleet-memory`: what one resident customer costs in heap, on one embedded node
 * (memory transport, the marketplace tree, its memory store). `FLEET_CUSTOMERS` customers (default
 * 5,000) subscribe, one `CustomerSubscribes` each; every one of them then has its orchestrator,
 * eight governors and receipts in memory (ten actors) and their committed states in the store.
 *
 * Baselines, in the same run: the node with the marketplace running and no customer (subtracted),
 * and the store alone (every actor passivated: what a customer costs once it has left memory, its
 * committed states and journal). `per_resident_customer_bytes` is (heap with everyone resident −
 * heap of the empty node) / N; `actors_per_customer_bytes` is the part the live actors add over
 * the store. `per_idle_resident_customer_bytes`: the same once a hibernation sweep has found
 * every actor idle (their snapshots out of memory until their next message; a few customers
 * then get a second event, which must complete from the hibernated state).
 *
 * `FLEET_HEAP_SNAPSHOT=<file>` writes a heap snapshot with everyone resident (for a breakdown).
 */
import { writeHeapSnapshot } from 'node:v8';
import { createNode } from '../src/create-node.ts';
import type { Node } from '../src/runtime/node.ts';
import { startMarketplace, type Marketplace } from '../supervisors/marketplace.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { round } from './stats.ts';

const CUSTOMERS = Number(process.env['FLEET_CUSTOMERS'] ?? 5_000);
/** Submits in flight at once: the orchestrators run their events side by side, as on a busy node. */
const IN_FLIGHT = 100;

function heap(): number {
  const gc = globalThis.gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function residentActors(node: Node): number {
  return node.registered().filter((name) => name.startsWith('entity:')).length;
}

async function subscribeAll(market: Marketplace): Promise<void> {
  const events = lifecycleRounds('fleet', CUSTOMERS, 0, 1).filter((event, i, all) => all.indexOf(event) === i);
  for (let i = 0; i < events.length; i += IN_FLIGHT) {
    const outcomes = await Promise.all(events.slice(i, i + IN_FLIGHT).map((event) => market.submit(event)));
    const failed = outcomes.find((outcome) => (outcome as { status?: string }).status !== 'completed');
    if (failed) throw new Error(`a subscription did not complete: ${JSON.stringify(failed)}`);
  }
}

export async function main(): Promise<Record<string, unknown>> {
  const node = createNode({ name: 'fleet-memory' });
  const market = startMarketplace(node, { pseudonymKey: 'fleet-memory-bench-pseudonym-key' });
  try {
    const empty = heap();
    const start = performance.now();
    await subscribeAll(market);
    const seconds = (performance.now() - start) / 1000;
    const actors = residentActors(node);
    const resident = heap();
    if (process.env['FLEET_HEAP_SNAPSHOT']) console.log(`heap snapshot: ${writeHeapSnapshot(process.env['FLEET_HEAP_SNAPSHOT'])}`);
    const stateBytes = [...market.store.keys('Orchestrator')].length === CUSTOMERS ? storedJsonBytes(market) / CUSTOMERS : Number.NaN;
    console.log(`${CUSTOMERS} customers subscribed in ${round(seconds, 1)} s: ${actors} resident actors, heap ${mb(resident)} MB (empty node ${mb(empty)} MB)`);

    // Idle: the sweep (every 10 s on a running node) marks, then hibernates, every idle actor.
    // (Optional: the bench also runs on code from before hibernation, for the before-figures.)
    const host = market.host() as { hibernateIdle?: () => number };
    host.hibernateIdle?.();
    const hibernatedCount = host.hibernateIdle?.() ?? 0;
    const idle = heap();
    console.log(`after a hibernation sweep: ${hibernatedCount} of ${actors} actors hibernated, heap ${mb(idle)} MB`);
    // They still answer, from their committed state: a second event for a few customers.
    const next = lifecycleRounds('fleet', Math.min(CUSTOMERS, 50), 1, 1).filter((event, i, all) => all.indexOf(event) === i);
    for (const event of next) {
      const outcome = (await market.submit(event)) as { status?: string };
      if (outcome.status !== 'completed') throw new Error(`a hibernated customer did not complete its next event: ${JSON.stringify(outcome)}`);
    }

    // Everyone out of memory: what stays is the store's (committed states and journals).
    for (const name of node.registered()) {
      const match = /^entity:([^/]+)\/(.+)$/s.exec(name);
      if (match) market.host().passivate({ entity: match[1]!, key: match[2]! });
    }
    await node.settle();
    const passivated = heap();
    const left = residentActors(node);
    console.log(`after passivating everyone: ${left} resident actors, heap ${mb(passivated)} MB`);

    const perResident = (resident - empty) / CUSTOMERS;
    const perIdle = (idle - empty) / CUSTOMERS;
    const perStored = (passivated - empty) / CUSTOMERS;
    return {
      bench: 'fleet-memory',
      customers: CUSTOMERS,
      resident_actors: actors,
      per_resident_customer_bytes: Math.round(perResident),
      per_idle_resident_customer_bytes: Math.round(perIdle),
      per_passivated_customer_bytes: Math.round(perStored),
      actors_per_customer_bytes: Math.round(perResident - perStored),
      idle_actors_per_customer_bytes: Math.round(perIdle - perStored),
      hibernated_actors: hibernatedCount,
      stored_json_bytes_per_customer: Math.round(stateBytes),
      heap_empty_mb: mb(empty),
      heap_resident_mb: mb(resident),
      heap_idle_mb: mb(idle),
      heap_passivated_mb: mb(passivated),
      resident_after_passivation: left,
      goal_bytes: 8_192,
    };
  } finally {
    await market.stop();
  }
}

/** The committed states' JSON size, all kinds (what the store keeps per customer, as text). */
function storedJsonBytes(market: Marketplace): number {
  let bytes = 0;
  for (const kind of ['Orchestrator', 'Entitlement', 'Billing', 'ProductCatalog', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant', 'Receipts']) {
    for (const key of market.store.keys(kind)) bytes += JSON.stringify(market.store.get({ entity: kind, key })?.state ?? null).length;
  }
  return bytes;
}

const mb = (bytes: number) => round(bytes / 1_048_576, 1);
