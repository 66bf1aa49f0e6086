/**
 * Issue 20, item 3, as a user would run it: the business flows on a live cluster. Two real
 * `governor start` node processes share a private Redis with AOF, both on the test clock
 * (`GOVERNOR_TEST_CLOCK`, README "A test clock for real nodes"), which the test moves forward
 * between steps with `governor repl --eval "clock_set(…)"` (signed, on every live node), so the
 * nodes' timers — a trial's end, dunning's retries and suspension, a reactivation window — fire
 * as the days pass. Every event goes in through `governor enqueue --file … --wait --json` with its
 * `occurredAt` at the business time of its step; every state is read back through `governor repl`
 * from one node or the other (an entity is answered by the node holding its partition).
 *
 * Ada's year: a Professional subscription without a trial, a month of usage over the quota, the
 * renewal's invoice, a failed payment, dunning until suspension, the payment that lifts it, an
 * upgrade to Enterprise with its proration charge, a renewal and its payment, a downgrade back to
 * Professional with its proration credit, renewals paid by that credit, a cancellation and a
 * reactivation within the window. Bob, beside her, takes the trial and comes back after the window.
 *
 * Every expected amount is worked out below from the published rules (SPEC §4 Billing and
 * `src/marketplace/README.md`: prices, allowances, overage rates, proration, rounding, dunning
 * schedule), never copied from a run:
 *
 * - Professional $99 a month with 100,000 executions included, $0.01 per execution beyond;
 *   Enterprise $999. Monthly cycles of 30 days; a renewal is accepted from 7 days before the
 *   cycle ends and invoices the cycle that ends: the base fee of the plan at renewal, overage,
 *   proration charges, minus credit; an invoice is never negative (the credit left carries on).
 * - Proration: daily rate = monthly base / 30; days left count the current day; an upgrade is a
 *   charge on the next invoice, a downgrade a credit; rounded half up to the cent, once.
 * - Dunning after a failed payment: retries on days 2, 3 and 6, service on through a 7-day grace,
 *   then suspension (Billing, Entitlement and the account at the same instant), collections on day 13.
 * - A paid tier's first subscription gets a 14-day trial unless the customer asks for none; a
 *   trial is given once per customer; the first cycle starts when the trial ends (business time:
 *   the event's `occurredAt`). A cancelled subscription can be reactivated within 30 days under
 *   its subscriptionId; after that it lapses and a new subscription gets a new id.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readNodes } from '../../src/cli/cluster-nodes.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

/** Business time, 09:00 UTC on a day of 2025 (`'03-01'`), or at another time of that day. */
const on = (day: string, time = '09:00') => `2025-${day}T${time}:00.000Z`;
const START = on('03-01');

// The catalog, in cents (SPEC §4 Billing, src/marketplace/README.md "Money, pricing and invoices").
const PRO_BASE = 99_00;
const ENT_BASE = 999_00;
const PRO_EXECUTIONS_INCLUDED = 100_000;
const EXECUTION_OVERAGE = 1; // $0.01
const CYCLE_DAYS = 30;
/** Proration: the monthly bases' difference / 30 a day, for the days left counting the current one, rounded half up to the cent. */
const proration = (fromBase: number, toBase: number, daysLeft: number) => Math.round((Math.abs(toBase - fromBase) / 30) * daysLeft);
const usd = (cents: number) => (cents / 100).toFixed(2);

/** What a customer asks for when they want no trial (issue 20: "not for a customer who asks for none"). */
const NO_TRIAL = { trial: false } as const;

const GOVERNORS = ['Subscription', 'Billing', 'Entitlement', 'QuotaSla', 'CustomerAccount', 'Compliance'] as const;
const CUSTOMERS = ['ada', 'bob'] as const;
type Customer = (typeof CUSTOMERS)[number];

interface EntityView {
  readonly value: string;
  readonly resident: string | false;
  readonly data: Record<string, any>;
}
type View = Record<string, EntityView>;

let redis: RedisHandle | undefined;
const nodes: ChildProcess[] = [];
const logs: string[] = [];
let dir: string | undefined;

afterAll(async () => {
  for (const node of nodes) node.kill('SIGKILL');
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a year of a customer’s life on two nodes with a test clock: trial or none, usage, invoices, dunning, payment, proration, cancel and reactivation, receipts', async () => {
  redis = await startRedis({ mode: 'private', persistence: 'aof' });
  dir = mkdtempSync(join(tmpdir(), 'governor-year-'));
  const env = {
    REDIS_URL: redis.url,
    GOVERNOR_PREFIX: redis.prefix,
    GOVERNOR_ADMIN_TOKEN: 'year-of-life-admin-token',
    GOVERNOR_PSEUDONYM_KEY: 'year-of-life-pseudonym-key-0001',
    GOVERNOR_TELEMETRY_SECRET: 'year-of-life-telemetry-secret-01',
    GOVERNOR_TELEMETRY: '0',
    GOVERNOR_LOG_LEVEL: 'warn',
  };
  const fail = (what: string, run: { code: number | null; stdout: string; stderr: string }) =>
    `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}\n--- node logs ---\n${logs.join('').slice(-4_000)}`;

  // ── two nodes on the test clock, at the same instant ───────────────────────────────────────
  await Promise.all(
    ['n1', 'n2'].map(async (name) => {
      const node = await startGovernorNode(['--name', name], { ...env, GOVERNOR_TEST_CLOCK: START });
      node.stderr!.on('data', (chunk: Buffer) => logs.push(`[${name}] ${chunk.toString()}`));
      nodes.push(node);
    }),
  );
  // Work only once the partitions are split: a partition moving later would take its entities'
  // timers with it until their next message.
  const keys = new RedisKeys(redis.prefix);
  const reader = redis.client();
  for (let tries = 0, split = false; !split; tries++) {
    const members = await readNodes(reader, keys);
    split = members.length === 2 && members.every((n) => n.alive && n.partitions.length === 8);
    if (!split && tries > 300) throw new Error(`the two nodes did not split the 16 partitions: ${JSON.stringify(members)}\n${logs.join('')}`);
    if (!split) await new Promise((resolve) => setTimeout(resolve, 200));
  }

  let file = 0;
  /** `governor enqueue --file F --wait --json`, run at business time `now` (its GOVERNOR_TEST_CLOCK): eventId → outcome. */
  const enqueue = async (now: string, events: Record<string, unknown>[]) => {
    const path = join(dir!, `step-${++file}.ndjson`);
    writeFileSync(path, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const run = await governor(['enqueue', '--file', path, '--wait', '30', '--json'], { env: { ...env, GOVERNOR_TEST_CLOCK: now } });
    expect([0, 1], fail('enqueue', run)).toContain(run.code);
    const report = JSON.parse(run.stdout) as { enqueued: string[]; rejected: unknown[]; outcomes: Record<string, { status: string; reason?: string; at?: number; subscriptionId?: string; original?: { status: string } }> };
    expect(report.rejected, fail('enqueue', run)).toEqual([]);
    for (const event of events) {
      const outcome = report.outcomes[event['eventId'] as string];
      expect(outcome?.status, `${String(event['eventId'])}: ${JSON.stringify(outcome)}`).not.toBe('pending');
      // Committed on the node's test clock, at the step's business time (not 2026's wall clock).
      if (outcome?.at !== undefined) expect(outcome.at - Date.parse(now), `${String(event['eventId'])} committed at ${new Date(outcome.at).toISOString()}`).toBeGreaterThanOrEqual(0);
      if (outcome?.at !== undefined) expect(outcome.at - Date.parse(now)).toBeLessThan(3_600_000);
    }
    return report.outcomes;
  };

  let reads = 0;
  const readsExpr = [
    ...CUSTOMERS.flatMap((c) => GOVERNORS.map((kind) => `get_state('${kind}/${c}')`)),
  ].join(', ');
  const toView = (states: Array<{ entity: string; value: string; resident: string | false; context: { data?: Record<string, any> } }>): View =>
    Object.fromEntries(states.filter((s) => !s.entity.startsWith('Receipts/')).map((s) => [s.entity, { value: s.value, resident: s.resident, data: s.context.data ?? {} }]));
  /**
   * Each customer's receipts in chain order, from its journal: receipts are history, appended by
   * the commit beside the Receipts state (which keeps only the log's tip and Merkle frontier).
   */
  const journalOf = async (customer: Customer) =>
    (await reader.lrange(keys.journal({ entity: 'Receipts', key: customer }), 0, -1)).map((text) => JSON.parse(text) as { entry: { eventId: string } });
  const receiptsOf = async () =>
    Object.fromEntries(await Promise.all(CUSTOMERS.map(async (c) => [c, (await journalOf(c)).map((r) => r.entry.eventId)] as const)));
  /**
   * One `governor repl --eval` (from n1 and n2 in turn): every governor's state as it is now, then
   * every node's clock moved to `next` (timers due fire), then the states again.
   */
  const look = async (next?: string, extra = 'null'): Promise<{ now: View; next: View; receipts: Record<string, string[]>; extra: any }> => {
    const node = ++reads % 2 === 0 ? 'n2' : 'n1';
    const expr = `(async () => {
      const now = await Promise.all([${readsExpr}]);
      const extra = await ${extra};
      const clocks = ${next === undefined ? '[]' : `await clock_set('${next}')`};
      const after = ${next === undefined ? 'now' : `await Promise.all([${readsExpr}])`};
      return JSON.stringify({ now, extra, clocks, after });
    })()`;
    const run = await governor(['repl', '--node', node, '--eval', expr], { env });
    expect(run.code, fail(`repl on ${node}`, run)).toBe(0);
    const result = JSON.parse(run.stdout) as { now: never; extra: unknown; clocks: Array<{ node: string; now: string; test: boolean }>; after: never };
    if (next !== undefined) {
      expect(result.clocks.map((c) => c.node).sort()).toEqual(['n1', 'n2']);
      // Read just after the move: the clock has flowed on by the milliseconds since (as real time does).
      for (const clock of result.clocks) {
        expect(clock.test).toBe(true);
        expect(Date.parse(clock.now) - Date.parse(next), `${clock.node} at ${clock.now}`).toBeGreaterThanOrEqual(0);
        expect(Date.parse(clock.now) - Date.parse(next)).toBeLessThan(60_000);
      }
    }
    const [now, after] = [toView(result.now), toView(result.after)];
    // Answered by whichever node holds the customer's partition, live from memory there.
    for (const [entity, { resident }] of Object.entries(now)) expect(['n1', 'n2'], entity).toContain(resident);
    return { now, next: after, receipts: await receiptsOf(), extra: result.extra };
  };

  const ev = (customerId: Customer, eventId: string, type: string, occurredAt: string, fields: Record<string, unknown> = {}) => ({ type, eventId, customerId, occurredAt, ...fields });
  const completed: Record<Customer, string[]> = { ada: [], bob: [] };
  /** The outcomes, checked against what each event is expected to do; completed events are kept, in order, for the receipts. */
  const expectOutcomes = (outcomes: Awaited<ReturnType<typeof enqueue>>, expected: Record<string, 'completed' | RegExp>) => {
    for (const [eventId, want] of Object.entries(expected)) {
      const outcome = outcomes[eventId];
      if (want === 'completed') {
        expect(outcome, eventId).toMatchObject({ status: 'completed' });
        completed[eventId.startsWith('bob') ? 'bob' : 'ada'].push(eventId);
      } else {
        expect(outcome, eventId).toMatchObject({ status: 'rejected' });
        expect(outcome!.reason, eventId).toMatch(want);
      }
    }
  };
  const billing = (view: View, c: Customer) => view[`Billing/${c}`]!;
  const state = (view: View, kind: (typeof GOVERNORS)[number], c: Customer) => view[`${kind}/${c}`]?.value;
  /** Billing's invoices, from its `invoice:<id>` records beside its state (its data keeps only the open ones). */
  const invoices = async (c: Customer) =>
    Object.entries(await reader.hgetall(keys.records({ entity: 'Billing', key: c })))
      .filter(([field]) => field.startsWith('invoice:'))
      .map(([, text]) => JSON.parse(text) as { invoiceId: string; total: string; paid: boolean })
      .sort((a, b) => a.invoiceId.localeCompare(b.invoiceId, 'en', { numeric: true }))
      .map((i) => [i.invoiceId, i.total, i.paid]);

  // ── 1 March: Ada subscribes to Professional without a trial; Bob takes the trial ─────────────
  const adaSubscribes = ev('ada', 'ada-sub', 'CustomerSubscribes', on('03-01'), { sku: 'PRO-MONTHLY', tier: 'professional', ...NO_TRIAL });
  let out = await enqueue(on('03-01'), [
    adaSubscribes,
    ev('bob', 'bob-sub', 'CustomerSubscribes', on('03-01'), { sku: 'PRO-MONTHLY', tier: 'professional' }),
    // In the trial no cycle has started: nothing to renew.
    ev('bob', 'bob-renew-in-trial', 'RenewalDue', on('03-01', '09:05'), { subscriptionId: 'bob-sub' }),
  ]);
  expectOutcomes(out, { 'ada-sub': 'completed', 'bob-sub': 'completed', 'bob-renew-in-trial': /trial/ });
  // The subscription's id is in the subscribe's outcome: later renewals name it.
  expect(out['ada-sub']).toMatchObject({ subscriptionId: 'ada-sub' });
  expect(out['bob-sub']).toMatchObject({ subscriptionId: 'bob-sub' });
  let view = await look(on('03-31'));
  expect(state(view.now, 'Subscription', 'ada')).toBe('Active');
  expect(view.now['Subscription/ada']!.data['plan']).toMatchObject({ sku: 'PRO-MONTHLY', tier: 'professional', cycleStart: Date.parse(on('03-01')) });
  expect(state(view.now, 'Entitlement', 'ada')).toBe('Active');
  expect(state(view.now, 'Billing', 'ada')).toBe('AwaitingInvoice');
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: '0.00', openInvoices: [] });
  expect(await invoices('ada')).toEqual([]);
  expect(state(view.now, 'QuotaSla', 'ada')).toBe('WithinLimits');
  expect(state(view.now, 'CustomerAccount', 'ada')).toBe('Active');
  expect(state(view.now, 'Compliance', 'ada')).toBe('Compliant');
  expect(state(view.now, 'Subscription', 'bob')).toBe('Trial');
  // Bob's first cycle starts when his 14-day trial ends, on 15 March; by the 31st the trial timer has fired.
  expect(view.now['Subscription/bob']!.data['plan']).toMatchObject({ cycleStart: Date.parse(on('03-15')) });
  expect(state(view.next, 'Subscription', 'bob')).toBe('Active');
  expect(view.receipts).toEqual(completed);

  // ── 31 March: March's usage is reported (150,000 executions on the 20th, 50,000 over Professional's
  // 100,000), and Ada's first cycle ends and is invoiced; Bob's is not due (it started on the 15th) ──
  const march = PRO_BASE + (150_000 - PRO_EXECUTIONS_INCLUDED) * EXECUTION_OVERAGE;
  out = await enqueue(on('03-31'), [
    ev('ada', 'ada-usage-march', 'UsageRecorded', on('03-20'), { metric: 'executions', quantity: 150_000, idempotencyKey: 'ada-runs-2025-03' }),
    ev('ada', 'ada-over-quota', 'UsageExceedsQuota', on('03-20', '09:01'), { resource: 'executions', usage: 150_000, limit: PRO_EXECUTIONS_INCLUDED }),
    ev('ada', 'ada-renew-1', 'RenewalDue', on('03-31'), { subscriptionId: 'ada-sub' }),
    ev('bob', 'bob-renew-early', 'RenewalDue', on('03-31'), { subscriptionId: 'bob-sub' }),
  ]);
  // Bob's cycle ends on 14 April; renewals are accepted from 7 days before.
  expectOutcomes(out, { 'ada-usage-march': 'completed', 'ada-over-quota': 'completed', 'ada-renew-1': 'completed', 'bob-renew-early': /not due before 2025-04-07T09:00/ });
  view = await look(on('04-01'));
  expect(usd(march)).toBe('599.00');
  expect(await invoices('ada')).toEqual([['inv-1', usd(march), false]]);
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: usd(march) });
  expect(state(view.now, 'Billing', 'ada')).toBe('InvoiceIssued');
  expect(view.now['Subscription/ada']!.data).toMatchObject({ renewals: 1, plan: { cycleStart: Date.parse(on('03-31')) } });
  expect(state(view.now, 'QuotaSla', 'ada')).toBe('Exceeded');
  // Usage is ledgered under the month it happened in, by QuotaSla and Billing alike; the renewal
  // invoiced March's and started the next period from zero.
  expect(view.now['QuotaSla/ada']!.data['ledger']).toMatchObject({ period: '2025-03', totals: { executions: '150000' } });
  expect(billing(view.now, 'ada').data['ledger']).toMatchObject({ period: '2025-03', totals: { executions: '0' } });

  // ── 1 April: the payment fails; dunning starts ──────────────────────────────────────────────
  out = await enqueue(on('04-01'), [ev('ada', 'ada-pay-failed', 'PaymentFailed', on('04-01'), { reason: 'card declined', paymentId: 'ada-pay-1' })]);
  expectOutcomes(out, { 'ada-pay-failed': 'completed' });
  // Day 8 after the failure: the three retries (days 2, 3, 6) and the end of the 7-day grace have passed.
  view = await look(on('04-09'));
  expect(state(view.now, 'Billing', 'ada')).toBe('PaymentFailed');
  expect(state(view.now, 'Entitlement', 'ada')).toBe('Grace');
  expect(state(view.now, 'CustomerAccount', 'ada')).toBe('PastDue');
  expect(state(view.next, 'Billing', 'ada')).toBe('Suspended');
  expect(state(view.next, 'Entitlement', 'ada')).toBe('Suspended');
  expect(state(view.next, 'CustomerAccount', 'ada')).toBe('Suspended');

  // ── 9 April: no plan change while suspended; the payment of the whole balance lifts it; Bob's renewal ──
  out = await enqueue(on('04-09'), [
    ev('ada', 'ada-upgrade-refused', 'CustomerUpgrades', on('04-09'), { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }),
    ev('ada', 'ada-pay-2', 'PaymentProcessed', on('04-09', '09:05'), { amount: usd(march), currency: 'USD', paymentId: 'ada-pay-2' }),
    ev('bob', 'bob-renew-1', 'RenewalDue', on('04-09'), { subscriptionId: 'bob-sub' }),
  ]);
  expectOutcomes(out, { 'ada-upgrade-refused': /suspended|overdue/, 'ada-pay-2': 'completed', 'bob-renew-1': 'completed' });
  view = await look(on('04-15'));
  expect(state(view.now, 'Billing', 'ada')).toBe('AwaitingInvoice');
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: '0.00' });
  // The applied payment is a record beside Billing's state (`payment:<id>`), not data it carries.
  expect(billing(view.now, 'ada').data).not.toHaveProperty('payments');
  expect(JSON.parse((await reader.hget(keys.records({ entity: 'Billing', key: 'ada' }), 'payment:ada-pay-2'))!)).toBe(usd(march));
  expect(await invoices('ada')).toEqual([['inv-1', usd(march), true]]);
  expect(state(view.now, 'Entitlement', 'ada')).toBe('Active');
  expect(state(view.now, 'CustomerAccount', 'ada')).toBe('Active');
  expect(view.now['Entitlement/ada']!.data['plan']).toMatchObject({ sku: 'PRO-MONTHLY' });
  // Bob's first invoice: the base fee of the cycle 15 March – 14 April, no usage.
  expect(await invoices('bob')).toEqual([['inv-1', usd(PRO_BASE), false]]);

  // ── 15 April: upgrade to Enterprise, 15 days before the cycle (31 March – 30 April) ends ──────
  const upgradeCharge = proration(PRO_BASE, ENT_BASE, CYCLE_DAYS - 15);
  out = await enqueue(on('04-15'), [
    ev('ada', 'ada-upgrade', 'CustomerUpgrades', on('04-15'), { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }),
    ev('bob', 'bob-pay-1', 'PaymentProcessed', on('04-15'), { amount: usd(PRO_BASE), currency: 'USD', paymentId: 'bob-pay-1' }),
    // Sent again by a producer that retries, six days on: the same event is answered as a duplicate of its outcome, nothing changes.
    ev('ada', 'ada-pay-2', 'PaymentProcessed', on('04-09', '09:05'), { amount: usd(march), currency: 'USD', paymentId: 'ada-pay-2' }),
  ]);
  expectOutcomes(out, { 'ada-upgrade': 'completed', 'bob-pay-1': 'completed' });
  expect(out['ada-pay-2']).toMatchObject({ status: 'duplicate', original: { status: 'completed' } });
  view = await look(on('04-30'));
  expect(usd(upgradeCharge)).toBe('450.00'); // the domain README's own example
  expect(billing(view.now, 'ada').data['adjustments']).toEqual([expect.objectContaining({ code: 'proration', amount: usd(upgradeCharge) })]);
  expect(view.now['Subscription/ada']!.data['plan']).toMatchObject({ sku: 'ENT-MONTHLY', tier: 'enterprise' });
  expect(view.now['Entitlement/ada']!.data['plan']).toMatchObject({ sku: 'ENT-MONTHLY', tier: 'enterprise' });
  expect(view.now['QuotaSla/ada']!.data['tier']).toBe('enterprise');
  expect(billing(view.now, 'bob').data).toMatchObject({ balance: '0.00' });

  // ── 30 April: renewal at Enterprise's base fee plus the proration charge, paid at once ───────
  const april = ENT_BASE + upgradeCharge;
  out = await enqueue(on('04-30'), [
    ev('ada', 'ada-renew-2', 'RenewalDue', on('04-30'), { subscriptionId: 'ada-sub' }),
    ev('ada', 'ada-pay-3', 'PaymentProcessed', on('04-30', '10:00'), { amount: usd(april), currency: 'USD', paymentId: 'ada-pay-3' }),
  ]);
  expectOutcomes(out, { 'ada-renew-2': 'completed', 'ada-pay-3': 'completed' });
  view = await look(on('05-10'));
  expect(await invoices('ada')).toEqual([
    ['inv-1', usd(march), true],
    ['inv-2', usd(april), true],
  ]);
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: '0.00', adjustments: [] });

  // ── 10 May: downgrade to Professional, 20 days before the cycle (30 April – 30 May) ends ──────
  const downgradeCredit = proration(ENT_BASE, PRO_BASE, CYCLE_DAYS - 10);
  out = await enqueue(on('05-10'), [ev('ada', 'ada-downgrade', 'CustomerUpgrades', on('05-10'), { fromSku: 'ENT-MONTHLY', toSku: 'PRO-MONTHLY' })]);
  expectOutcomes(out, { 'ada-downgrade': 'completed' });
  view = await look(on('05-30'));
  expect(billing(view.now, 'ada').data).toMatchObject({ credit: usd(downgradeCredit), plan: { sku: 'PRO-MONTHLY', tier: 'professional' } });
  expect(view.now['QuotaSla/ada']!.data['tier']).toBe('professional');

  // ── 30 May: the renewal is paid by the credit: an invoice of 0.00, the rest carried on ────────
  const may = Math.max(0, PRO_BASE - downgradeCredit);
  const creditAfterMay = downgradeCredit - (PRO_BASE - may);
  out = await enqueue(on('05-30'), [ev('ada', 'ada-renew-3', 'RenewalDue', on('05-30'), { subscriptionId: 'ada-sub' })]);
  expectOutcomes(out, { 'ada-renew-3': 'completed' });
  view = await look(on('06-10'));
  expect([usd(may), usd(creditAfterMay)]).toEqual(['0.00', '501.00']);
  expect((await invoices('ada')).at(-1)).toEqual(['inv-3', usd(may), true]);
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: '0.00', credit: usd(creditAfterMay) });
  expect(state(view.now, 'Billing', 'ada')).toBe('AwaitingInvoice');

  // ── 10 June: both cancel; the 30-day reactivation window opens ──────────────────────────────
  out = await enqueue(on('06-10'), [
    ev('ada', 'ada-cancel', 'CustomerCancels', on('06-10'), { reason: 'moving on' }),
    ev('bob', 'bob-cancel', 'CustomerCancels', on('06-10'), { reason: 'too expensive' }),
  ]);
  expectOutcomes(out, { 'ada-cancel': 'completed', 'bob-cancel': 'completed' });
  view = await look(on('06-25'));
  for (const c of CUSTOMERS) {
    expect(state(view.now, 'Subscription', c), c).toBe('Cancelled');
    expect(state(view.now, 'Entitlement', c), c).toBe('Cancelled');
    expect(billing(view.now, c).data['plan'], c).toBeNull();
  }

  // ── 25 June, within the window: Ada comes back, under the same subscription ──────────────────
  out = await enqueue(on('06-25'), [ev('ada', 'ada-reactivates', 'CustomerSubscribes', on('06-25'), { sku: 'PRO-MONTHLY', tier: 'professional', ...NO_TRIAL })]);
  expectOutcomes(out, { 'ada-reactivates': 'completed' });
  expect(out['ada-reactivates']).toMatchObject({ subscriptionId: 'ada-sub' });
  view = await look(on('07-25'));
  expect(state(view.now, 'Subscription', 'ada')).toBe('Active');
  expect(view.now['Subscription/ada']!.data).toMatchObject({ subscriptionId: 'ada-sub', plan: { sku: 'PRO-MONTHLY', cycleStart: Date.parse(on('06-25')) } });
  expect(state(view.now, 'Entitlement', 'ada')).toBe('Active');
  expect(billing(view.now, 'ada').data).toMatchObject({ credit: usd(creditAfterMay), plan: { cycleStart: Date.parse(on('06-25')) } });
  // Bob's window closed on 10 July: his subscription lapsed and his entitlement expired.
  expect(state(view.next, 'Subscription', 'bob')).toBe('Lapsed');
  expect(state(view.next, 'Entitlement', 'bob')).toBe('Expired');

  // ── 25 July: Ada's renewal, paid by what is left of the credit; Bob subscribes anew ──────────
  const july = Math.max(0, PRO_BASE - creditAfterMay);
  const creditAfterJuly = creditAfterMay - (PRO_BASE - july);
  out = await enqueue(on('07-25'), [
    ev('ada', 'ada-renew-4', 'RenewalDue', on('07-25'), { subscriptionId: 'ada-sub' }),
    ev('bob', 'bob-sub-2', 'CustomerSubscribes', on('07-25'), { sku: 'PRO-MONTHLY', tier: 'professional' }),
  ]);
  expectOutcomes(out, { 'ada-renew-4': 'completed', 'bob-sub-2': 'completed' });
  // After the window a subscription is a new one, with a new id; the trial was used already.
  expect(out['bob-sub-2']).toMatchObject({ subscriptionId: 'bob-sub-2' });
  // The last look also verifies Ada's committed receipt chain, as the REPL's audit_verify does.
  view = await look(undefined, "audit_verify('ada')");
  expect(await invoices('ada')).toEqual([
    ['inv-1', usd(march), true],
    ['inv-2', usd(april), true],
    ['inv-3', usd(may), true],
    ['inv-4', usd(july), true],
  ]);
  expect(billing(view.now, 'ada').data).toMatchObject({ balance: '0.00', credit: usd(creditAfterJuly) });
  expect(view.now['Subscription/ada']!.data).toMatchObject({ subscriptionId: 'ada-sub', plan: { cycleStart: Date.parse(on('07-25')) } });
  expect(state(view.now, 'Subscription', 'bob')).toBe('Active');
  expect(view.now['Subscription/bob']!.data).toMatchObject({ subscriptionId: 'bob-sub-2', plan: { cycleStart: Date.parse(on('07-25')) } });

  // ── the receipts: one per completed event, in order, and the chain verifies ──────────────────
  expect(view.receipts).toEqual(completed);
  expect(view.extra).toMatchObject({ customerId: 'ada', ok: true, length: completed.ada.length });
  // Exported from the journal, from genesis, and verified offline: nothing in the file is trusted
  // for where the chain starts.
  const exported = join(dir, 'ada-receipts.json');
  writeFileSync(exported, JSON.stringify({ receipts: await journalOf('ada') }));
  const verified = await governor(['audit', 'verify', '--file', exported]);
  expect(verified.code, fail('audit verify', verified)).toBe(0);
  expect(verified.stdout).toMatch(new RegExp(`^ok: ${completed.ada.length} receipts verify`));

  // Both nodes ran the year on the test clock and say so.
  const members = await readNodes(reader, keys);
  expect(members.map((n) => [n.name, n.alive, n.clock]).sort()).toEqual([
    ['n1', true, 'test'],
    ['n2', true, 'test'],
  ]);
}, 300_000);
