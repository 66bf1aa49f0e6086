import type { Command } from 'commander';
import { TIER_IDS, type TierId } from '../../marketplace/tiers.ts';
import { CliError } from '../exit-codes.ts';
import { emit, table } from '../output.ts';

const METRIC_FLAGS = {
  executions: 'executions',
  computeGbHours: 'compute_gb_hours',
  transferGb: 'transfer_gb',
  apiCalls: 'api_calls',
} as const;

export function billingCommand(program: Command): void {
  const billing = program.command('billing').description('pricing and invoices');
  billing
    .command('estimate')
    .description("a month's exact cost for a tier and usage, with its line items")
    .requiredOption('--tier <tier>', `one of ${TIER_IDS.join(', ')}`)
    .option('--executions <n>', 'workflow executions', '0')
    .option('--compute-gb-hours <n>', 'compute, GB-hours', '0')
    .option('--transfer-gb <n>', 'data transfer, GB', '0')
    .option('--api-calls <n>', 'API calls', '0')
    .option('--json', 'print JSON')
    .action(async (options: Record<string, string | boolean>) => {
      const { priceUsage } = await import('../../marketplace/pricing.ts');
      const tier = String(options.tier).toLowerCase();
      if (!(TIER_IDS as readonly string[]).includes(tier)) {
        throw new CliError(`--tier: "${options.tier}" is not a tier; use one of ${TIER_IDS.join(', ')}`);
      }
      const usage: Record<string, string> = {};
      for (const [flag, metric] of Object.entries(METRIC_FLAGS)) {
        const value = String(options[flag]);
        if (!/^\d+(\.\d+)?$/.test(value)) {
          throw new CliError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: "${value}" is not a non-negative decimal number`);
        }
        usage[metric] = value;
      }
      const priced = priceUsage(tier as TierId, usage);
      emit(priced, options.json === true, () =>
        [
          table([['line', 'quantity', 'unit price', 'amount'], ...priced.lines.map((l) => [l.description, l.quantity, l.unitPrice, l.amount])]),
          `total: ${priced.total} USD`,
          ...(priced.overLimit.length ? [`over the tier's hard limit (not billed, blocked by quota): ${priced.overLimit.join(', ')}`] : []),
        ].join('\n'),
      );
    });
}
