import type { Command } from 'commander';
import type { ProveFlags, VerifyFlags } from '../audit/receipt-files.ts';

// Definitions only: the work (and the receipt modules it needs) is imported when the command runs.
export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('receipt logs: verify an export or a proof offline, and make proofs');
  audit
    .command('verify')
    .description('verify an exported receipt log (or a proof): exit 0 when it verifies, 1 with the first bad position and the kind of damage, 2 for unreadable input')
    .option('--file <receipts.json>', 'the log: { receipts, head } (`governor demo --export` writes one), or a bare array of receipts')
    .option('--proof <proof.json>', 'an inclusion or consistency proof (`governor audit prove`), instead of --file; needs --public-key')
    .option('--public-key <kid=key...>', 'trusted public keys for the signed head, as kid=base64url (repeatable)')
    .option('--head <json|file>', 'a signed head (JSON text or a file), instead of the one in --file')
    .option('--anchor <seq:hash>', 'v1 chains only: the tip the chain starts after, from a source you trust (never taken from the file)')
    .option('--json', 'print JSON')
    .action(async (flags: VerifyFlags) => {
      process.exitCode = (await import('../audit/receipt-files.ts')).verify(flags);
    });
  audit
    .command('prove')
    .description('an inclusion proof of one receipt (--index or --event-id), or a consistency proof from an earlier head (--from-head), against the export\u2019s signed tree head; printed as JSON for `audit verify --proof`')
    .requiredOption('--file <receipts.json>', 'the log and its signed tree head (`governor demo --export`)')
    .option('--head <json|file>', 'a signed tree head, instead of the one in --file')
    .option('--index <n>', 'the receipt at this position of the log')
    .option('--event-id <id>', 'the receipt of this event')
    .option('--from-head <json|file>', 'an earlier signed tree head of the same log: prove the export\u2019s head extends it')
    .option('--out <file>', 'write the proof here instead of stdout')
    .action(async (flags: ProveFlags) => {
      process.exitCode = (await import('../audit/receipt-files.ts')).prove(flags);
    });
}
