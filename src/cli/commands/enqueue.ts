import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.ts';
import type { CheckedEvent } from '../enqueue/events.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

interface EnqueueFlags extends RedisFlags {
  customer?: string;
  json?: string | boolean;
  file?: string;
  strict?: boolean;
  batch: string;
  wait?: string | boolean;
}

/** The file's bytes (decoded later, line by line, so text that is not UTF-8 is refused, not mangled). */
async function readInput(file: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  if (file !== '-') {
    try {
      return await readFile(file);
    } catch (error) {
      throw new CliError(`--file: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function enqueueCommand(program: Command): void {
  program
    .command('enqueue')
    .description('validate lifecycle events and enqueue them for the BullMQ nodes on Redis (governor start --redis)')
    .argument('[type]', 'event type, e.g. CustomerSubscribes, followed by --field value pairs (e.g. --sku PRO-MONTHLY --tier professional)')
    .option('--customer <id>', 'customerId of the event given by type and fields')
    .option('--json [event]', 'the event as JSON text; alone: print a JSON report instead of the ids')
    .option('--file <path>', 'NDJSON file of events, one per line; - for stdin')
    .option('--strict', 'bulk: enqueue nothing if any event is rejected')
    .option('--batch <n>', 'bulk: events per addBulk', '1000')
    .option('--wait [seconds]', 'wait (default 30 s) for each event\'s outcome: completed, rejected: <reason>, duplicate (<original outcome>), dead-lettered: <reason>, or pending')
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or {governor}, as governor start)")
    .option('--partitions <n>', "the nodes' partition count (default: the transport's, as governor start)")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', '\nEvent ids are printed one per line (with --wait, each followed by its outcome); eventId and occurredAt are generated when absent.\n' +
        'Exit 0: enqueued (with --wait: every event completed, or a duplicate of a completed one).\n' +
        'Exit 1 (with --wait): an event was rejected, a duplicate of a rejected one, or dead-lettered.\n' +
        'Exit 2: an event was not accepted at the door (with --strict or a single event: nothing was written).\n' +
        'Exit 3: Redis unreachable, or (with --wait) an event still pending when the wait ended.\n' +
        'Exit 5: an event was refused by its tenant\'s rate limit (its tier\'s requests per second): nothing was written for it; retry after the time printed.\n' +
        'Events over the rate but within 10 s of it are enqueued as delayed jobs, in order; a throttled tenant is reported to MultiTenant and QuotaSla (UsageExceedsQuota, resource request_rate).')
    .action(async (type: string | undefined, flags: EnqueueFlags, command: Command) => {
      const { checkFlagEvent, checkJsonEvent, checkNdjsonBytes, fieldFlags, describeIssues } = await import('../enqueue/events.ts');
      const { redisUrl, partitionsOf, prefixOf } = await import('../enqueue/redis.ts');
      const eventJson = typeof flags.json === 'string' ? flags.json : undefined;
      const jsonReport = flags.json !== undefined;
      const sources = [type !== undefined, eventJson !== undefined, flags.file !== undefined].filter(Boolean).length;
      if (sources !== 1) throw new CliError('give exactly one of: <Type> --customer <id> [--field value …], --json \'<event>\', --file <events.ndjson | ->');
      const batch = Number(flags.batch);
      if (!Number.isInteger(batch) || batch < 1) throw new CliError(`--batch: "${flags.batch}" is not a positive integer`);
      let waitMs: number | undefined;
      if (flags.wait !== undefined) {
        const seconds = flags.wait === true ? 30 : Number(flags.wait);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--wait: "${String(flags.wait)}" is not a positive number of seconds`);
        waitMs = seconds * 1000;
      }
      const partitions = partitionsOf(flags);

      let checked: CheckedEvent[];
      const bulk = flags.file !== undefined;
      if (type !== undefined) {
        const extra = command.args.slice(1);
        let fields: [string, string][];
        try {
          fields = fieldFlags(extra);
        } catch (error) {
          throw new CliError((error as Error).message);
        }
        checked = [checkFlagEvent(type, flags.customer, fields)];
      } else {
        if (flags.customer !== undefined || command.args.length > 0) throw new CliError('--customer and --field flags go with <Type>, not with --json or --file');
        checked = eventJson !== undefined ? [checkJsonEvent(eventJson, 1)] : checkNdjsonBytes(await readInput(flags.file!));
      }

      const rejected = checked.filter((c): c is Extract<CheckedEvent, { ok: false }> => !c.ok);
      const accepted = checked.filter((c): c is Extract<CheckedEvent, { ok: true }> => c.ok);
      const rejections = rejected.map((r) => ({ line: r.line, issues: describeIssues(r.issues) }));

      if (!bulk && rejected.length > 0) {
        if (jsonReport) process.stdout.write(`${JSON.stringify({ enqueued: [], rejected: rejections }, null, 2)}\n`);
        throw new CliError(`the event was not accepted, nothing was enqueued:\n  ${rejections[0]!.issues.join('\n  ')}`);
      }
      if (bulk && flags.strict === true && rejected.length > 0) {
        if (jsonReport) process.stdout.write(`${JSON.stringify({ enqueued: [], rejected: rejections }, null, 2)}\n`);
        const lines = rejections.map((r) => `  line ${r.line}: ${r.issues.join('; ')}`);
        throw new CliError(`--strict: ${rejected.length} of ${checked.length} events rejected, nothing was enqueued:\n${lines.join('\n')}`);
      }

      // Only once the events are known good (or reported): a bad event is reported even without Redis.
      const url = redisUrl(flags);
      let ids: string[] = [];
      const { describeOutcome, isRefusal } = await import('../enqueue/wait.ts');
      let outcomes: Map<string, import('../enqueue/wait.ts').EventOutcome> | undefined;
      let throttled: import('../enqueue/throttle.ts').Refused[] = [];
      let delayed: import('../enqueue/throttle.ts').Admitted[] = [];
      if (accepted.length > 0) {
        const { enqueueEvents } = await import('../enqueue/producer.ts');
        ({ ids, outcomes, throttled, delayed } = await enqueueEvents({ url, prefix: prefixOf(flags), partitions, batch, waitMs }, accepted.map((a) => a.event)));
      }
      const refusals = throttled.map((t) => ({ eventId: t.event.eventId, customerId: t.event.customerId, tier: t.tier, perSecond: t.perSecond, retryAfterMs: t.retryAfterMs }));
      if (jsonReport) {
        const report = { enqueued: ids, rejected: rejections, ...(refusals.length > 0 ? { throttled: refusals } : {}), ...(outcomes ? { outcomes: Object.fromEntries(outcomes) } : {}) };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        for (const id of ids) {
          const outcome = outcomes?.get(id);
          process.stdout.write(outcome ? `${id} ${describeOutcome(outcome)}\n` : `${id}\n`);
        }
      }
      if (bulk) {
        process.stderr.write(`governor: ${ids.length} enqueued, ${rejected.length} rejected\n`);
        for (const r of rejections) process.stderr.write(`  line ${r.line}: ${r.issues.join('; ')}\n`);
        if (rejected.length > 0) process.exitCode = EXIT.usage;
      }
      if (delayed.length > 0) {
        const longest = Math.max(...delayed.map((d) => d.delayMs));
        process.stderr.write(`governor: ${delayed.length} enqueued as delayed jobs, at their tenant's rate (the last in ${(longest / 1000).toFixed(1)} s)\n`);
      }
      if (refusals.length > 0) {
        process.stderr.write(`governor: ${refusals.length} throttled, nothing was enqueued for them:\n`);
        for (const r of refusals) {
          process.stderr.write(`  ${r.eventId}: customer ${r.customerId} is over the ${r.tier} tier's ${r.perSecond} events/s; retry after ${(r.retryAfterMs / 1000).toFixed(1)} s\n`);
        }
        if (process.exitCode !== EXIT.usage) process.exitCode = EXIT.throttled;
      }
      if (outcomes && process.exitCode !== EXIT.usage && process.exitCode !== EXIT.throttled) {
        // "No" wins over "not yet": a rejection is an answer, a pending event only a lack of one.
        const all = [...outcomes.values()];
        if (all.some(isRefusal)) process.exitCode = EXIT.failed;
        else if (all.some((o) => o.status === 'pending')) {
          process.stderr.write('governor: not handled in time: is a node running on this Redis (governor start --redis) with the same --prefix?\n');
          process.exitCode = EXIT.unavailable;
        }
      }
    });
}
