import { Command, CommanderError } from 'commander';
import { GovernorError } from '../errors.ts';
import { auditCommand } from './commands/audit.ts';
import { billingCommand } from './commands/billing.ts';
import { checkCommand } from './commands/check.ts';
import { customerCommand } from './commands/customer.ts';
import { deployCommand } from './commands/deploy.ts';
import { dlqCommand } from './commands/dlq.ts';
import { demoCommand } from './commands/demo.ts';
import { enqueueCommand } from './commands/enqueue.ts';
import { licenseCommand } from './commands/license.ts';
import { machinesCommand } from './commands/machines.ts';
import { migrateLayoutCommand } from './commands/migrate-layout.ts';
import { observeCommand } from './commands/observe.ts';
import { replCommand } from './commands/repl.ts';
import { schemaCommand } from './commands/schema.ts';
import { startCommand } from './commands/start.ts';
import { statsCommand } from './commands/stats.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { GOVERNOR_VERSION } from '../observability/platform.ts';
import { isRedisUnavailable, redisUnavailableError } from './redis-deadline.ts';

/** The `governor` program, with every command registered. */
export function program(): Command {
  const governor = new Command('governor')
    .description('Governor: an OTP-style actor runtime on XState v5, and the marketplace governor built on it')
    .version(GOVERNOR_VERSION, '-V, --version', 'print the version and exit')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  startCommand(governor);
  schemaCommand(governor);
  licenseCommand(governor);
  billingCommand(governor);
  deployCommand(governor);
  demoCommand(governor);
  checkCommand(governor);
  auditCommand(governor);
  enqueueCommand(governor);
  dlqCommand(governor);
  customerCommand(governor);
  migrateLayoutCommand(governor);
  replCommand(governor);
  statsCommand(governor);
  machinesCommand(governor);
  observeCommand(governor);
  return governor;
}

/** Runs the command line; errors become one line on stderr and a documented exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`governor: ${error.message}\n`);
      return error.exitCode;
    }
    // One rule for every command: Redis not answering in time (or not there) is exit 3, in one line.
    if (isRedisUnavailable(error)) {
      process.stderr.write(`governor: ${redisUnavailableError(error as Error).message}\n`);
      return EXIT.unavailable;
    }
    if (error instanceof GovernorError) {
      process.stderr.write(`governor: ${error.message} (${error.code})\n`);
      return EXIT.usage;
    }
    process.stderr.write(`governor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.internal;
  }
}
