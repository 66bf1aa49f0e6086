import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { GovernorError } from '../../errors.ts';
import type { SigningKey } from '../../marketplace/signing-keys.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import type { RedisFlags } from '../enqueue/redis.ts';
import { emit } from '../output.ts';

/**
 * `governor customer export|erase <customerId>`: GDPR access (everything held about a customer,
 * as JSON) and erasure (its personal data removed everywhere, the audit log still verifying),
 * against the nodes' Redis. See README "Personal data (GDPR)".
 */

interface CustomerFlags extends RedisFlags {
  json?: boolean;
}

function redisOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)")
    .option('--partitions <n>', "the nodes' partition count (default 16, as governor start)");
}

/** `kid=seed` (the base64url seed `governor license keygen` prints), from the flag or $GOVERNOR_SIGNING_KEY. */
async function signingKeyOf(text: string | undefined): Promise<SigningKey | undefined> {
  const value = text ?? process.env.GOVERNOR_SIGNING_KEY;
  if (value === undefined || value === '') return undefined;
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CliError('--signing-key must be kid=seed (the base64url seed of `governor license keygen`)');
  const { signingKeyFromSeed } = await import('../../marketplace/signing-keys.ts');
  const seed = Buffer.from(value.slice(eq + 1), 'base64url');
  try {
    return signingKeyFromSeed(value.slice(0, eq), new Uint8Array(seed));
  } catch (error) {
    throw new CliError(`--signing-key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function withTarget<T>(flags: RedisFlags, run: (target: import('../customer/customer-operations.ts').CustomerTarget) => Promise<T>): Promise<T> {
  const { redisUrl, prefixOf, partitionsOf, connectOrExit, FAIL_FAST_REDIS } = await import('../enqueue/redis.ts');
  const { createRedis, ready } = await import('../../transport/bullmq/connections.ts');
  const { isRedisUnavailable, redisUnavailableError } = await import('../redis-deadline.ts');
  const url = redisUrl(flags);
  const prefix = prefixOf(flags);
  const partitions = partitionsOf(flags);
  const redis = await connectOrExit(url, async () => {
    const r = createRedis(url, { ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
    r.on('error', () => undefined); // surfaced by the command that fails
    try {
      await ready(r);
    } catch (error) {
      r.disconnect();
      throw error;
    }
    return r;
  });
  try {
    return await run({ redis, url, prefix, ...(partitions !== undefined ? { partitions } : {}) });
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof GovernorError) throw new CliError(`${error.message} (${error.code})`, error.code === 'ERASURE_TIMEOUT' ? EXIT.unavailable : EXIT.usage);
    if (isRedisUnavailable(error)) throw redisUnavailableError(error as Error, url);
    throw error;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

export function customerCommand(program: Command): void {
  const customer = program.command('customer').description('GDPR: export everything held about a customer, or erase its personal data (the audit log still verifies)');
  redisOptions(customer.command('export').description('everything held about a customer as JSON: every entity state, the receipt log from genesis, a signed head, its dead letters'))
    .argument('<customerId>', 'the customer id, as in its events')
    .option('--signing-key <kid=seed>', 'sign a tree head over the log (default: $GOVERNOR_SIGNING_KEY); verify with governor audit verify --file <export> --public-key kid=key')
    .option('--out <file>', 'write the export here instead of stdout')
    .action(async (customerId: string, flags: CustomerFlags & { signingKey?: string; out?: string }) => {
      const signingKey = await signingKeyOf(flags.signingKey);
      const { exportCustomer } = await import('../customer/customer-operations.ts');
      const exported = await withTarget(flags, (target) => exportCustomer(target, customerId, signingKey ? { signingKey } : {}));
      const text = `${JSON.stringify(exported, null, 2)}\n`;
      if (flags.out === undefined) process.stdout.write(text);
      else {
        try {
          writeFileSync(flags.out, text, { mode: 0o600 }); // personal data: readable by its owner only
        } catch (error) {
          throw new CliError(`--out: cannot write ${flags.out}: ${error instanceof Error ? error.message : String(error)}`);
        }
        process.stderr.write(`exported ${customerId}: ${exported.entities.length} entities, ${exported.receipts.length} receipts, ${exported.deadLetters.length} dead letters → ${flags.out}\n`);
      }
      process.exitCode = exported.log.verifies ? EXIT.ok : EXIT.failed;
    });
  redisOptions(customer.command('erase').description("erase a customer's personal data everywhere: a CustomerErasureRequested event with its own receipt, then the queued copies; idempotent"))
    .argument('<customerId>', 'the customer id, as in its events')
    .option('--requested-by <id>', 'who asked (an operator or ticket id, recorded in the event)', 'governor-cli')
    .option('--timeout-ms <ms>', 'how long to wait for the nodes to handle the erasure', '30000')
    .option('--json', 'print JSON')
    .action(async (customerId: string, flags: CustomerFlags & { requestedBy: string; timeoutMs: string }) => {
      const timeoutMs = Number(flags.timeoutMs);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new CliError(`--timeout-ms: "${flags.timeoutMs}" is not a positive integer`);
      const { eraseCustomer } = await import('../customer/customer-operations.ts');
      const report = await withTarget(flags, (target) => eraseCustomer(target, customerId, { requestedBy: flags.requestedBy, timeoutMs }));
      emit(report, flags.json === true, () => {
        if (report.status === 'refused') return `refused: the erasure of ${customerId} was not done: ${report.reason}`;
        const what = report.status === 'already-erased' ? `${customerId} was erased before: no new event` : `erased ${customerId} (event ${report.eventId}, receipt #${report.receipts - 1})`;
        const copies = `${report.queued.jobsRedacted} queued job(s) and ${report.queued.deadLettersRedacted} dead letter(s) redacted`;
        const after = report.heldAfter.length > 0 ? `\nnote: personal data held again after the erasure (a later event brought it): ${report.heldAfter.join(', ')}` : '';
        return `${what}; ${copies}${after}`;
      });
      process.exitCode = report.status === 'refused' ? EXIT.failed : EXIT.ok;
    });
}
