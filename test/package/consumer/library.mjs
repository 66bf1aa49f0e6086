/* global console */
// The other entry points, by name: the marketplace application on a simulated clock, a machine
// property from ./testing, and the package's own package.json.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { setup, assign } from 'xstate';
import { createNode } from '@governorjs/governor';
import { parseLifecycleEvent, startMarketplace } from '@governorjs/governor/marketplace';
import { SimulatedClock, machineProperty, minimalSequence } from '@governorjs/governor/testing';

const { version } = createRequire(import.meta.url)('@governorjs/governor/package.json');

const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
const node = createNode({ clock });
const market = startMarketplace(node, { pseudonymKey: 'a key of sixteen+ bytes' });
const parsed = parseLifecycleEvent({
  type: 'CustomerSubscribes', eventId: 'sub-1', customerId: 'c-1', occurredAt: new Date(clock.now()).toISOString(), sku: 'PRO-MONTHLY', tier: 'professional',
});
if (!parsed.ok) throw new Error(`the event was refused: ${JSON.stringify(parsed)}`);
const outcome = await market.submit(parsed.event);
const receipts = await market.verifyReceipts('c-1');
await market.stop();
await node.stop();

// A counter whose guard lets it pass its limit of 3: the property finds it, reduced to four pushes.
const counter = setup({}).createMachine({
  context: { n: 0 },
  on: { push: { guard: ({ context }) => context.n <= 3, actions: assign({ n: ({ context }) => context.n + 1 }) } },
});
const check = {
  machine: counter,
  events: fc.array(fc.constant({ type: 'push' }), { maxLength: 8 }),
  invariants: (snapshot) => {
    if (snapshot.context.n > 3) throw new Error(`n is ${snapshot.context.n}, above 3`);
  },
};
const details = fc.check(machineProperty(check), { seed: 1, numRuns: 200 });
const minimal = details.failed ? minimalSequence(check, details.counterexample[0]).events.length : 0;

console.log(JSON.stringify({ version, outcome: outcome.status, receipts: receipts.ok, propertyFailed: details.failed, minimal }));
