import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { governorDefinitions } from '../../../machines/index.ts';
import { outcomeOf, type HandledRecord } from '../../../machines/handled-events.ts';
import { verifyReceipts, type ReceiptsContext } from '../../../machines/receipts.ts';
import { GOVERNORS, type GovernorKind, type LifecycleEvent } from '../../../machines/governor-protocol.ts';
import { billingStanding, type BillingData, type BillingState, type InvoiceSummary } from '../../../machines/governors/billing.ts';
import type { GovernorContext } from '../../../machines/governors/governor-kit.ts';
import { RENEWAL_WINDOW_DAYS, cycleEnd } from '../../../machines/governors/plan.ts';
import type { OrchestratorContext, Outcome } from '../../../machines/orchestrator.ts';
import { parseLifecycleEvent } from '../../marketplace/event-validation.ts';
import { Dec } from '../../marketplace/money.ts';
import { MarketplaceModel, type ModelOutcome } from './reference-model.ts';
import { memoryTarget } from './memory-target.ts';
import type { ActorState, PropertyTarget } from './target.ts';

/**
 * The property of the orchestrator and the governors (shared by `governor check` and
 * test/application/properties.test.ts): random event sequences for several customers against the
 * pure reference model, through the orchestrator and the real governors on a transport (memory,
 * or BullMQ with the states read back from Redis; see `target.ts`): duplicates (also reordered,
 * within the duplicate window and after it), invalid events, governor crashes and clock jumps.
 * Every step compares the committed states with the model, field for field, checks the outcome
 * record committed with the event, and checks the invariants; at the end every receipt chain
 * must verify.
 *
 * Checks throw {@link PropertyViolation} (plain assertions, no test runner needed).
 */

/** A broken property: what was expected, and where. */
export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new PropertyViolation(message);
}

const normal = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
};

/** Equal as `toEqual` sees it (undefined fields ignored). */
function same(actual: unknown, expected: unknown, message: string): void {
  check(isDeepStrictEqual(normal(actual), normal(expected)), `${message}: expected ${show(expected)}, got ${show(actual)}`);
}

export const START = Date.parse('2026-01-05T10:00:00Z');
export const CUSTOMERS = ['c0', 'c1', 'c2'];
const MINUTE = 60_000;
const DAY = 86_400_000;

interface World {
  readonly model: MarketplaceModel;
  /** Events sent per customer, for redeliveries. */
  readonly sent: Map<string, LifecycleEvent[]>;
  /** Per customer: payment id → the events whose completion applied it at Billing. */
  readonly payments: Map<string, Map<string, Set<string>>>;
  /** Per customer: the renewal events whose completion Billing applied (one invoice each). */
  readonly renewals: Map<string, Set<string>>;
  serial: number;
}

type Real = PropertyTarget;

/** Every customer's committed states, read once per step. */
type Observed = Map<string, Map<string, ActorState>>;

async function observe(real: Real, customers: readonly string[] = CUSTOMERS): Promise<Observed> {
  return new Map(await Promise.all(customers.map(async (c) => [c, await real.states(c)] as const)));
}

/** An event payload, made when the command runs (a payment can pay what is due then). */
type Make = (world: World, customerId: string) => Record<string, unknown> & { type: string };
interface Spec {
  readonly label: string;
  readonly make: Make;
}
const spec = (label: string, make: Make): Spec => ({ label, make });

/** The data the model's governor of `kind` holds for the customer, typed by its kind. */
const governorData = <K extends GovernorKind>(world: World, customerId: string, kind: K) => world.model.context(customerId, kind)?.data;

/** Event payloads, some valid, some not; a payment can pay exactly what the model says is due. */
const specs: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(['PRO-MONTHLY', 'professional'], ['COMMUNITY', 'community'], ['ENT-ANNUAL', 'enterprise'], ['PRO-MONTHLY', 'enterprise'], ['GOLD', 'professional']).map(
    ([sku, tier]) => spec(`CustomerSubscribes ${sku}/${tier}`, () => ({ type: 'CustomerSubscribes', sku, tier })),
  ) },
  { weight: 2, arbitrary: fc.constantFrom(['PRO-MONTHLY', 'ENT-MONTHLY'], ['ENT-MONTHLY', 'PRO-MONTHLY'], ['COMMUNITY', 'PRO-MONTHLY'], ['PRO-MONTHLY', 'PRO-ANNUAL']).map(
    ([fromSku, toSku]) => spec(`CustomerUpgrades ${fromSku}→${toSku}`, () => ({ type: 'CustomerUpgrades', fromSku, toSku })),
  ) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('p1', 'p2', 'p3'), fc.boolean()).map(([paymentId, exact]) =>
    spec(`PaymentProcessed ${paymentId} ${exact ? 'of the balance' : 'of 12.34'}`, (world, customerId) => {
      const balance = governorData(world, customerId, 'Billing')?.balance ?? '0.00';
      return { type: 'PaymentProcessed', amount: exact && balance !== '0.00' ? balance : '12.34', currency: 'USD', paymentId };
    }),
  ) },
  { weight: 2, arbitrary: fc.constantFrom('f1', 'f2', 'f3').map((paymentId) => spec(`PaymentFailed ${paymentId}`, () => ({ type: 'PaymentFailed', reason: 'card declined', paymentId }))) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('executions', 'compute_gb_hours'), fc.constantFrom(10, 900, 60_000), fc.constantFrom('u1', 'u2', 'u3', 'u4')).map(
    ([metric, quantity, idempotencyKey]) => spec(`UsageRecorded ${quantity} ${metric} ${idempotencyKey}`, () => ({ type: 'UsageRecorded', metric, quantity, idempotencyKey })),
  ) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('executions', 'storage', 'requests'), fc.constantFrom([11, 10], [30, 10], [5, 10])).map(
    ([resource, [usage, limit]]) => spec(`UsageExceedsQuota ${resource} ${usage}/${limit}`, () => ({ type: 'UsageExceedsQuota', resource, usage, limit })),
  ) },
  { weight: 1, arbitrary: fc.constant(spec('CustomerCancels', () => ({ type: 'CustomerCancels', reason: 'moving on' }))) },
  { weight: 1, arbitrary: fc.constantFrom('abuse', 'fraud review').map((reason) => spec(`ManualSuspension ${reason}`, () => ({ type: 'ManualSuspension', reason, actor: 'ops' }))) },
  { weight: 3, arbitrary: fc.boolean().map((known) =>
    spec(`RenewalDue of ${known ? 'its' : 'an unknown'} subscription`, (world, customerId) => {
      const subscriptionId = governorData(world, customerId, 'Subscription')?.subscriptionId;
      return { type: 'RenewalDue', subscriptionId: known && subscriptionId ? subscriptionId : 'sub-unknown' };
    }),
  ) },
  { weight: 1, arbitrary: fc.constantFrom(
    spec('CatalogPublish', () => ({ type: 'CatalogPublish', itemKind: 'template', itemId: 'etl', version: '1.0.0' })),
    spec('CatalogReprice', () => ({ type: 'CatalogReprice', itemKind: 'template', itemId: 'etl', price: '10.00', currency: 'USD', effectiveAt: '2027-01-01T00:00:00Z' })),
    spec('CatalogDeprecate', () => ({ type: 'CatalogDeprecate', itemKind: 'template', itemId: 'etl', reason: 'old' })),
    // Invalid at the governors' level: an unknown type (no route) and a malformed time.
    spec('NoSuchEvent', () => ({ type: 'NoSuchEvent' })),
    spec('CustomerSubscribes at a malformed time', () => ({ type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional', occurredAt: 'yesterday' })),
  ) },
);

/**
 * Where a customer's committed governor states differ from the model's, one line per governor
 * (empty: they agree field for field). Shared with the chaos run.
 */
export function governorDifferences(model: MarketplaceModel, states: ReadonlyMap<string, ActorState> | undefined, customerId: string): string[] {
  const differences: string[] = [];
  for (const kind of GOVERNORS) {
    const expected = model.context(customerId, kind);
    const actual = states?.get(kind) as { value: string; context: GovernorContext<string, unknown> } | undefined;
    if (!expected) {
      if (actual !== undefined) differences.push(`${kind}/${customerId} should not exist`);
    } else if (actual === undefined) {
      differences.push(`${kind}/${customerId} should exist`);
    } else if (actual.value !== expected.state) {
      differences.push(`${kind}/${customerId} state: expected ${expected.state}, got ${actual.value}`);
    } else if (!isDeepStrictEqual(normal(actual.context), normal(expected))) {
      differences.push(`${kind}/${customerId} context: expected ${show(expected)}, got ${show(actual.context)}`);
    }
  }
  return differences;
}

/** What the real system committed must be what the model says, field for field. */
function compareCustomer(world: World, observed: Observed, customerId: string): void {
  const differences = governorDifferences(world.model, observed.get(customerId), customerId);
  check(differences.length === 0, differences.join('; '));
}

/** The invariants of issue 5, on the real actors' states. */
function checkInvariants(world: World, observed: Observed): void {
  for (const customerId of CUSTOMERS) {
    const value = (kind: string) => observed.get(customerId)?.get(kind)?.value as string | undefined;
    const entitlement = value('Entitlement');
    const account = value('CustomerAccount');
    const billing = value('Billing') as BillingState | undefined;
    const where = `customer ${customerId}`;
    if (entitlement === 'Active') {
      // An active entitlement: a subscription trialing or active, an account in good standing.
      check(['Trial', 'Active'].includes(value('Subscription') ?? ''), `${where}: an active entitlement needs a trialing or active subscription, not ${value('Subscription')}`);
      check(account === 'Active', `${where}: an active entitlement needs an active account, not ${account}`);
      check(billing !== undefined && billingStanding(billing) === 'good', `${where}: an active entitlement needs Billing in good standing, not ${billing}`);
    }
    const suspended = account === 'Suspended' || account === 'UnderReview' || billing === 'Suspended' || billing === 'Collections';
    if (suspended) check(entitlement !== 'Active', `${where}: a suspended customer has no active entitlement`);
    // No payment applied twice (a redelivered event is the same application, not a second one),
    // no cycle invoiced twice, and every cent accounted for: invoiced = paid + still due.
    for (const [paymentId, events] of world.payments.get(customerId) ?? []) check(events.size === 1, `${where}: payment ${paymentId} applied by ${[...events].join(', ')}`);
    const billingState = observed.get(customerId)?.get('Billing');
    const data = (billingState?.context as { data: BillingData } | undefined)?.data;
    if (data) {
      // Applied payments and issued invoices are records beside the state (`payment:<id>`, `invoice:<id>`).
      const payments = new Map<string, string>();
      const invoices: InvoiceSummary[] = [];
      for (const [field, value] of Object.entries(billingState?.records ?? {})) {
        if (field.startsWith('payment:')) payments.set(field.slice('payment:'.length), value as string);
        if (field.startsWith('invoice:')) invoices.push(value as InvoiceSummary);
      }
      check(data.invoiceSeq === (world.renewals.get(customerId)?.size ?? 0), `${where}: one invoice per renewal: ${data.invoiceSeq} invoices, ${world.renewals.get(customerId)?.size ?? 0} renewals`);
      check(invoices.length === data.invoiceSeq, `${where}: a record per invoice issued: ${invoices.length} records, ${data.invoiceSeq} invoices`);
      const invoiced = invoices.reduce((sum, i) => sum.plus(i.total), new Dec(0));
      check(invoiced.toFixed(2) === new Dec(data.invoiced).toFixed(2), `${where}: the invoices' records sum to ${invoiced.toFixed(2)}, the data says ${data.invoiced}`);
      const paid = [...payments.values()].reduce((sum, amount) => sum.plus(amount), new Dec(0));
      check(invoiced.toFixed(2) === paid.plus(data.balance).toFixed(2), `${where}: invoiced = paid + due: ${invoiced.toFixed(2)} ≠ ${paid.toFixed(2)} + ${data.balance}`);
      // What is unpaid is exactly what the data keeps open.
      const unpaid = invoices.filter((i) => !i.paid).map((i) => i.invoiceId).sort();
      same(unpaid, data.openInvoices.map((i) => i.invoiceId).sort(), `${where}: open invoices`);
      same([...payments.keys()].sort(), [...(world.payments.get(customerId)?.keys() ?? [])].sort(), `${where}: payments applied`);
    }
  }
}

function checkOutcome(outcome: Outcome, expected: ModelOutcome): void {
  check(['completed', 'duplicate', 'rejected'].includes(outcome.status), `outcome status ${outcome.status}`);
  if (outcome.status === 'rejected') check(outcome.reason.length > 0, 'a rejection has a reason');
  if (outcome.status === 'duplicate') check(outcome.original.status !== 'rejected' || outcome.original.reason.length > 0, 'a recorded rejection has a reason');
  const seen =
    outcome.status === 'rejected'
      ? { status: outcome.status, reason: outcome.reason }
      : outcome.status === 'duplicate'
        ? { status: outcome.status, original: outcome.original }
        : { status: outcome.status };
  same(seen, expected, `outcome of ${outcome.eventId}`);
}

/** The outcome record committed with the event (what `governor enqueue --wait` reads) says what the answer said. */
function checkRecord(observed: Observed, event: LifecycleEvent, outcome: Outcome): void {
  // The targets show the orchestrator's records (kept beside its state) as `handled`, by eventId.
  const orchestrator = observed.get(event.customerId)?.get('Orchestrator')?.context as (OrchestratorContext & { handled?: Record<string, HandledRecord> }) | undefined;
  const record = orchestrator?.handled?.[event.eventId];
  check(record !== undefined, `no outcome record of ${event.eventId} was committed`);
  const answer =
    outcome.status === 'duplicate'
      ? outcome.original
      : outcome.status === 'rejected'
        ? { status: 'rejected', reason: outcome.reason }
        : { status: 'completed', ...(outcome.subscriptionId !== undefined ? { subscriptionId: outcome.subscriptionId } : {}) };
  const { at: _recordedAt, ...recorded } = outcomeOf(record);
  const { at: _answeredAt, ...answered } = answer as { at?: number };
  same(recorded, answered, `the committed record of ${event.eventId}`);
}

async function deliver(world: World, real: Real, event: LifecycleEvent): Promise<void> {
  if (!parseLifecycleEvent(event).ok) return refusedAtTheDoor(world, real, event);
  const expected = world.model.submit(event, real.clock.now());
  const outcome = await real.submit(event);
  checkOutcome(outcome, expected);
  const billingApplied = outcome.status === 'completed' && outcome.replies.some((r) => r.governor === 'Billing' && r.status === 'applied');
  if (billingApplied && event.type === 'PaymentProcessed') {
    const payments = world.payments.get(event.customerId) ?? new Map<string, Set<string>>();
    payments.set(String(event.paymentId), (payments.get(String(event.paymentId)) ?? new Set()).add(event.eventId));
    world.payments.set(event.customerId, payments);
  }
  if (billingApplied && event.type === 'RenewalDue') world.renewals.set(event.customerId, (world.renewals.get(event.customerId) ?? new Set()).add(event.eventId));
  const observed = await observe(real);
  checkRecord(observed, event, outcome);
  compareCustomer(world, observed, event.customerId);
  checkInvariants(world, observed);
}

/**
 * An event that is not valid never reaches the orchestrator, on any transport: it is refused with
 * the reason (a queue dead-letters it) and changes nothing, so the model does not see it either.
 */
const plain = (observed: Observed) => normal(Object.fromEntries([...observed].map(([customer, states]) => [customer, Object.fromEntries(states)])));

async function refusedAtTheDoor(world: World, real: Real, event: LifecycleEvent): Promise<void> {
  const before = await observe(real);
  const refusal = await real.submit(event).then(
    (outcome) => {
      throw new Error(`the invalid event ${event.eventId} was taken: ${show(outcome)}`);
    },
    (error: unknown) => error as { code?: string; reason?: unknown },
  );
  const refused = refusal.code === 'INVALID_MESSAGE' || (refusal.code === 'CALL_EXIT' && typeof refusal.reason === 'object' && refusal.reason !== null && 'invalid_message' in refusal.reason);
  check(refused, `the invalid event ${event.eventId} was not refused as invalid: ${show(refusal)}`);
  const after = await observe(real);
  same(plain(after), plain(before), `states after the invalid event ${event.eventId}`);
  checkInvariants(world, after);
}

class Submit implements fc.AsyncCommand<World, Real> {
  constructor(readonly customerId: string, readonly spec: Spec) {}
  check = () => true;
  async run(world: World, real: Real): Promise<void> {
    const fields = this.spec.make(world, this.customerId);
    const event = { eventId: `${this.customerId}-e${++world.serial}`, customerId: this.customerId, occurredAt: new Date(real.clock.now()).toISOString(), ...fields } as LifecycleEvent;
    const sent = world.sent.get(this.customerId) ?? [];
    sent.push(event);
    world.sent.set(this.customerId, sent);
    await deliver(world, real, event);
  }
  toString(): string {
    return `Submit(${this.customerId}, ${this.spec.label})`;
  }
}

/** A redelivery of one of the last events sent: a duplicate inside the window, possibly out of order. */
class Redeliver implements fc.AsyncCommand<World, Real> {
  constructor(readonly customerId: string, readonly back: number) {}
  check = (world: Readonly<World>) => (world.sent.get(this.customerId)?.length ?? 0) > this.back;
  async run(world: World, real: Real): Promise<void> {
    const sent = world.sent.get(this.customerId)!;
    await deliver(world, real, sent[sent.length - 1 - this.back]!);
  }
  toString(): string {
    return `Redeliver(${this.customerId}, ${this.back} back)`;
  }
}

class Advance implements fc.AsyncCommand<World, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(world: World, real: Real): Promise<void> {
    await real.advance(this.ms);
    world.model.advanceTo(real.clock.now());
    const observed = await observe(real);
    for (const customerId of CUSTOMERS) compareCustomer(world, observed, customerId);
    checkInvariants(world, observed);
  }
  toString(): string {
    return `Advance(${this.ms / MINUTE} min)`;
  }
}

/** A clock jump to the opening of a customer's renewal window and the renewal, so invoices and dunning happen often. */
class AdvanceToRenewal implements fc.AsyncCommand<World, Real> {
  constructor(
    readonly customerId: string,
    readonly then: 'pay' | 'fail' | 'wait',
  ) {}
  check = (world: Readonly<World>) => governorData(world as World, this.customerId, 'Subscription')?.plan != null;
  async run(world: World, real: Real): Promise<void> {
    const plan = governorData(world, this.customerId, 'Subscription')?.plan;
    const opens = plan ? cycleEnd(plan) - RENEWAL_WINDOW_DAYS * DAY + MINUTE : 0;
    if (opens > real.clock.now()) await new Advance(opens - real.clock.now()).run(world, real);
    // The producer's renewal for the subscription the customer has (redelivered later, maybe).
    await new Submit(
      this.customerId,
      spec('RenewalDue', (w, c) => ({ type: 'RenewalDue', subscriptionId: governorData(w, c, 'Subscription')?.subscriptionId ?? 'none' })),
    ).run(world, real);
    // What the payment provider reports next, with payment ids fresh for this cycle.
    const id = `${this.then}-${world.serial}`;
    if (this.then === 'pay') {
      const pay = spec('PaymentProcessed', (w, c) => ({ type: 'PaymentProcessed', amount: governorData(w, c, 'Billing')?.balance ?? '0.00', currency: 'USD', paymentId: id }));
      await new Submit(this.customerId, pay).run(world, real);
    } else if (this.then === 'fail') {
      await new Submit(this.customerId, spec('PaymentFailed', () => ({ type: 'PaymentFailed', reason: 'card declined', paymentId: id }))).run(world, real);
    }
  }
  toString(): string {
    return `AdvanceToRenewal(${this.customerId}, then ${this.then})`;
  }
}

class Crash implements fc.AsyncCommand<World, Real> {
  constructor(readonly customerId: string, readonly kind: GovernorKind) {}
  check = () => true;
  async run(world: World, real: Real): Promise<void> {
    const { before, after } = await real.crash(this.kind, this.customerId);
    if (before === undefined) return;
    check(after !== undefined && after !== before, `${this.kind}/${this.customerId} was not restarted by its supervisor`);
    // Restored from its last committed state: nothing seen from outside changed.
    compareCustomer(world, await observe(real, [this.customerId]), this.customerId);
  }
  toString(): string {
    return `Crash(${this.kind}/${this.customerId})`;
  }
}

const customer = fc.constantFrom(...CUSTOMERS);

/** The command sequences, optionally replaying a shrunk one (fast-check's replayPath). */
export const marketplaceCommands = (replayPath?: string) => fc.commands(
  [
    fc.tuple(customer, specs).map(([c, spec]) => new Submit(c, spec)),
    fc.tuple(customer, specs).map(([c, spec]) => new Submit(c, spec)),
    fc.tuple(customer, fc.integer({ min: 0, max: 2 })).map(([c, back]) => new Redeliver(c, back)),
    fc.constantFrom(1, 4, 60, 24 * 60, 3 * 24 * 60, 8 * 24 * 60, 31 * 24 * 60).map((minutes) => new Advance(minutes * MINUTE)),
    fc.tuple(customer, fc.constantFrom('pay' as const, 'fail' as const, 'wait' as const)).map(([c, then]) => new AdvanceToRenewal(c, then)),
    fc.tuple(customer, fc.constantFrom(...GOVERNORS)).map(([c, kind]) => new Crash(c, kind)),
  ],
  { maxCommands: 40, size: 'large', ...(replayPath ? { replayPath } : {}) },
);

export { DEFAULT_RUNS } from './defaults.ts';

/**
 * The property: one marketplace per run, the commands against it and the model, then every
 * chain verified. `onRun` is called at the start of each execution (runs, then shrinking tries).
 */
/** How a run's target is made: a fresh one per run (and per shrinking try). */
export type TargetFactory = (options: { start: number; pseudonymKey: string }) => Promise<PropertyTarget>;

/** The memory transport (the default). */
export const onMemory: TargetFactory = async (options) => memoryTarget(options);

export function marketplaceProperty(options: { replayPath?: string; onRun?: () => void; target?: TargetFactory } = {}) {
  return fc.asyncProperty(marketplaceCommands(options.replayPath), async (cmds) => {
    options.onRun?.();
    const real = await (options.target ?? onMemory)({ start: START, pseudonymKey: 'property-test-key-0123456789' });
    const world: World = { model: new MarketplaceModel(governorDefinitions()), sent: new Map(), payments: new Map(), renewals: new Map(), serial: 0 };
    try {
      await fc.asyncModelRun(() => ({ model: world, real }), cmds);
      // Every committed event has exactly one receipt, and every committed chain verifies.
      const observed = await observe(real);
      for (const customerId of CUSTOMERS) {
        const receipts = observed.get(customerId)?.get('Receipts')?.context as (ReceiptsContext & { receipts: unknown[] }) | undefined;
        const verified = receipts ? verifyReceipts(receipts, receipts.receipts) : { ok: true, length: 0 };
        const expected = world.model.customer(customerId).receipts.length;
        check(verified.ok && verified.length === expected, `receipts of ${customerId}: expected a verified chain of ${expected}, got ${show(verified)}`);
      }
    } finally {
      await real.stop();
    }
  });
}

