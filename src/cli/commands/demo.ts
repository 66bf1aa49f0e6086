import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { LifecycleEvent } from '../../../machines/governor-protocol.ts';
import type { Outcome } from '../../../machines/orchestrator.ts';
import type { BillingData, InvoiceSummary } from '../../../machines/governors/billing.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { table } from '../output.ts';

const DAY = 86_400_000;
const START = Date.parse('2026-01-05T10:00:00Z');
const CUSTOMER = 'demo-customer';
const KINDS = ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'MultiTenant', 'Compliance'] as const;

/**
 * What `--export` writes: the customer's receipt log from its first receipt, and a v2 signed tree
 * head (size and Merkle root of the whole log). No anchor: the start is the signed head's.
 */
export interface ExportedChain {
  readonly format: 'governor-receipt-log-v2';
  readonly customer: string;
  readonly receipts: unknown[];
  readonly head?: unknown;
  readonly publicKey?: string;
}

/** One step of the demo as `--json` reports it. */
interface DemoStep {
  readonly step: number;
  readonly day: number;
  readonly title: string;
  readonly event: LifecycleEvent;
  readonly outcome: Outcome;
  readonly expected: Outcome['status'];
  readonly states: Record<string, unknown>;
}

/**
 * `governor demo`: a customer's whole lifecycle on an embedded node with a simulated clock,
 * printed step by step (each governor's reply and the states it left), ending with Billing's
 * invoices and the verified receipt chain.
 */
export async function runDemo(options: { export?: string; json?: boolean; print?: (line: string) => void }): Promise<number> {
  const out = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // With --json the story is not printed: one JSON object at the end holds its steps and results.
  const print = options.json ? () => undefined : out;
  const steps: DemoStep[] = [];
  // Imported here, not at the top: `governor --help` and the other commands do not load the runtime.
  const [{ SimulatedClock }, { createNode }, { generateSigningKey }, { startMarketplace }] = await Promise.all([
    import('../../runtime/clock.ts'),
    import('../../create-node.ts'),
    import('../../marketplace/signing-keys.ts'),
    import('../../../supervisors/marketplace.ts'),
  ]);
  const clock = new SimulatedClock(START);
  const node = createNode({ name: 'demo', clock });
  const signingKey = generateSigningKey('demo');
  const market = startMarketplace(node, { pseudonymKey: 'governor-demo-pseudonym-key', signingKey });
  let serial = 0;
  let step = 0;
  let unexpected = 0;
  const day = () => Math.round((clock.now() - START) / DAY);
  const states = () =>
    KINDS.map((kind) => [kind, market.stateOf(kind, CUSTOMER)?.value] as const)
      .filter(([, value]) => value !== undefined)
      .map(([kind, value]) => `${kind}=${String(value)}`)
      .join(' ');
  const billing = () => (market.stateOf('Billing', CUSTOMER)?.context as { data: BillingData } | undefined)?.data;

  const submit = async (title: string, type: string, fields: Record<string, unknown>, expect: Outcome['status'] = 'completed') => {
    step += 1;
    const event = { eventId: `demo-${++serial}`, customerId: CUSTOMER, occurredAt: new Date(clock.now()).toISOString(), type, ...fields } as LifecycleEvent;
    print(`\n[${step}] day ${day()}: ${title}`);
    print(`    event ${type} ${JSON.stringify(fields)}`);
    const outcome = await market.submit(event);
    steps.push({ step, day: day(), title, event, outcome, expected: expect, states: Object.fromEntries(KINDS.map((kind) => [kind, market.stateOf(kind, CUSTOMER)?.value]).filter(([, value]) => value !== undefined)) });
    if (outcome.status === 'duplicate') {
      const original = outcome.original.status === 'rejected' ? `rejected: ${outcome.original.reason}` : outcome.original.status;
      print(`    orchestrator: duplicate (already handled: ${original}; nothing changed)`);
    }
    else {
      for (const reply of outcome.replies) {
        const facts = reply.facts && Object.keys(reply.facts).length > 0 ? ` ${JSON.stringify(reply.facts)}` : '';
        print(`    ${reply.governor.padEnd(16)} ${reply.status}${reply.reason ? `: ${reply.reason}` : ''}${facts}`);
      }
      print(`    orchestrator: ${outcome.status}${outcome.status === 'rejected' ? ` (${outcome.reason}); every prepared change was aborted` : ', committed everywhere, one receipt'}`);
    }
    if (outcome.status !== expect) {
      unexpected += 1;
      print(`    UNEXPECTED: the script expected ${expect}`);
    }
    print(`    states: ${states()}`);
    const data = billing();
    if (data) print(`    billing: balance ${data.balance} USD, ${data.invoiceSeq} invoice(s)`);
    return outcome;
  };
  const advance = (days: number, why: string) => {
    clock.advance(days * DAY);
    market.persist();
    print(`\n--- ${days} day(s) pass (${why}); now day ${day()}`);
    print(`    states: ${states()}`);
  };

  try {
    print(`Governor demo: customer "${CUSTOMER}" on an embedded node (memory transport, simulated clock from ${new Date(START).toISOString()})`);
    await submit('subscribe to Professional (14-day trial)', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    advance(14, 'the trial ends');
    await submit('usage: 150,000 executions', 'UsageRecorded', { metric: 'executions', quantity: 150_000, idempotencyKey: 'run-1' });
    await submit('the same usage reported again (counted once)', 'UsageRecorded', { metric: 'executions', quantity: 150_000, idempotencyKey: 'run-1' });
    await submit('overage: executions over the quota', 'UsageExceedsQuota', { resource: 'executions', usage: 150_000, limit: 100_000 });
    advance(29, 'into the renewal window');
    await submit('renewal: the cycle is invoiced (99.00 base + overage)', 'RenewalDue', { subscriptionId: 'demo-1' });
    await submit('payment failure: dunning starts', 'PaymentFailed', { reason: 'card declined', paymentId: 'pay-1' });
    await submit('an upgrade while overdue is refused', 'CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }, 'rejected');
    advance(2, 'dunning: Billing retries');
    const due = billing()?.balance ?? '0.00';
    await submit(`payment of the ${due} USD due: reinstated`, 'PaymentProcessed', { amount: due, currency: 'USD', paymentId: 'pay-2' });
    await submit('upgrade to Enterprise with proration', 'CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' });
    advance(26, 'into the next renewal window');
    await submit('renewal: Enterprise plus the proration', 'RenewalDue', { subscriptionId: 'demo-1' });
    const renewed = billing()?.balance ?? '0.00';
    await submit(`payment of ${renewed} USD`, 'PaymentProcessed', { amount: renewed, currency: 'USD', paymentId: 'pay-3' });
    await submit('cancellation', 'CustomerCancels', { reason: 'moving on' });
    advance(30, 'the reactivation window closes');
    advance(60, 'retention ends');

    const data = billing();
    print('\nInvoices (Billing):');
    // Issued invoices and applied payments are records beside Billing's state (`invoice:<id>`, `payment:<id>` → amount).
    const records = Object.entries(market.store.allRecords({ entity: 'Billing', key: CUSTOMER }));
    const invoices = records.filter(([field]) => field.startsWith('invoice:')).map(([, invoice]) => invoice as InvoiceSummary).sort((a, b) => a.invoiceId.localeCompare(b.invoiceId, 'en', { numeric: true }));
    const rows = [['invoice', 'period', 'total (USD)', 'paid'], ...invoices.map((i) => [i.invoiceId, i.period, i.total, i.paid ? 'yes' : 'no'])];
    print(table(rows).replace(/^/gm, '    '));
    const payments = Object.fromEntries(records.filter(([field]) => field.startsWith('payment:')).map(([field, amount]) => [field.slice('payment:'.length), amount]));
    print(`    balance due: ${data?.balance ?? '0.00'} USD; payments: ${JSON.stringify(payments)}`);

    const verified = await market.verifyReceipts(CUSTOMER);
    // The receipts are history: read from the journal the store keeps beside the Receipts state.
    const chain = { receipts: market.store.journalOf({ entity: 'Receipts', key: CUSTOMER }) as Array<{ seq: number; hash: string; entry: { type: string; eventId: string } }> };
    print('\nReceipt chain:');
    for (const receipt of chain.receipts) print(`    #${receipt.seq} ${receipt.entry.type.padEnd(18)} ${receipt.entry.eventId.padEnd(8)} ${receipt.hash.slice(0, 16)}…`);
    if (verified.ok) print(`receipt chain verified: ${String(verified.length)} receipts`);
    else print(`receipt chain does NOT verify: ${JSON.stringify(verified)}`);

    if (options.export !== undefined) {
      const head = await node.call({ entity: 'Receipts', key: CUSTOMER }, { type: 'head', at: clock.now() });
      const exported: ExportedChain = { format: 'governor-receipt-log-v2', customer: CUSTOMER, receipts: chain.receipts, head, publicKey: `${signingKey.kid}=${signingKey.publicKey}` };
      try {
        writeFileSync(options.export, `${JSON.stringify(exported, null, 2)}\n`);
      } catch (error) {
        throw new CliError(`--export: cannot write ${options.export}: ${error instanceof Error ? error.message : String(error)}`);
      }
      print(`exported ${chain.receipts.length} receipts and the signed head to ${options.export}`);
      print(`verify it with: governor audit verify --file ${options.export} --public-key ${signingKey.kid}=${signingKey.publicKey}`);
    }
    if (options.json) {
      const result = { customer: CUSTOMER, steps, invoices, balance: data?.balance ?? '0.00', payments, receipts: chain.receipts, verified, unexpected, ...(options.export !== undefined ? { exported: options.export } : {}) };
      out(JSON.stringify(result, null, 2));
    }
    if (!verified.ok || unexpected > 0) return EXIT.failed;
    return EXIT.ok;
  } finally {
    await market.stop();
  }
}

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('a scripted customer lifecycle on an embedded node, printed step by step, ending with the invoices and the verified receipt chain')
    .option('--json', 'print one JSON object instead of the story: every step (event, outcome, states), the invoices, payments and receipts, and the verification')
    .option('--export <file>', 'also write the receipt chain (with a signed head) as JSON, for `governor audit verify`')
    .action(async (flags: { export?: string; json?: boolean }) => {
      process.exitCode = await runDemo({ ...(flags.export !== undefined ? { export: flags.export } : {}), json: flags.json === true });
    });
}
