import type { Command } from 'commander';
import { CliError } from '../exit-codes.ts';
import type { CheckedEvent } from '../enqueue/events.ts';
import type { RepeatedLine } from '../enqueue/reused-keys.ts';
import { enqueueExitCode } from '../enqueue/exit-code.ts';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import type { RedisFlags } from '../enqueue/redis.ts';

interface EnqueueFlags extends RedisFlags {
  customer?: string;
  json?: string | boolean;
  file?: string;
  strict?: boolean;
  batch: string;
  wait?: string | boolean;
}

/** The file or stdin as a stream of bytes (decoded later, line by line, so text that is not UTF-8 is refused, not mangled). */
async function openInput(file: string): Promise<AsyncIterable<Uint8Array>> {
  if (file === '-') return process.stdin;
  const { open } = await import('node:fs/promises');
  try {
    // Opened first, so a missing file is reported as such, not as a stream error midway.
    const handle = await open(file, 'r');
    return handle.createReadStream();
  } catch (error) {
    throw new CliError(`--file: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Bad lines printed in full; the rest are counted. A file of a million bad lines prints a screenful, not gigabytes. */
export const REJECTIONS_SHOWN = 20;

/** The events refused at the door: the first {@link REJECTIONS_SHOWN} kept with their issues, the rest counted. */
class Rejections {
  readonly shown: { line: number; issues: string[] }[] = [];
  count = 0;

  add(line: number, issues: string[]): void {
    this.count += 1;
    if (this.shown.length < REJECTIONS_SHOWN) this.shown.push({ line, issues });
  }

  /** One line per bad line shown, then how many more there were. */
  lines(indent = '  '): string[] {
    const lines = this.shown.map((r) => `${indent}line ${r.line}: ${r.issues.join('; ')}`);
    if (this.count > this.shown.length) lines.push(`${indent}… and ${this.count - this.shown.length} more rejected lines (the first ${this.shown.length} are shown)`);
    return lines;
  }

  /** For the JSON report: the lines shown, and the total when some were left out. */
  report(): { rejected: { line: number; issues: string[] }[]; rejectedCount?: number } {
    return this.count > this.shown.length ? { rejected: this.shown, rejectedCount: this.count } : { rejected: this.shown };
  }
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
    .option('--prefix <prefix>', "the nodes' Redis key prefix (default: $GOVERNOR_PREFIX or governor, as governor start)")
    .option('--partitions <n>', "the nodes' partition count (default: the transport's, as governor start)")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', '\nEvent ids are printed one per line (with --wait, each followed by its outcome); eventId and occurredAt are generated when absent.\n' +
        'A line repeating an earlier line (same customer, eventId and content) is not enqueued again: it is printed as "<id> duplicate of line N".\n' +
        'Exit codes, the first that applies winning (what to do first):\n' +
        '  3: Redis unreachable, or (with --wait) an event still pending when the wait ended: fix the cluster, run again.\n' +
        '  2: an event was not accepted at the door (with --strict or a single event: nothing was written), e.g. an eventId used before for other content (IDEMPOTENCY_KEY_REUSED); bulk prints the first 20 bad lines and counts the rest.\n' +
        '  5: an event was refused by its tenant\'s rate limit (its tier\'s requests per second): nothing was written for it; retry after the time printed for it.\n' +
        '  1 (with --wait): an event was rejected, a duplicate of a rejected one, or dead-lettered.\n' +
        '  0: enqueued (with --wait: every event completed, or a duplicate of a completed one).\n' +
        'Events over the rate but within 10 s of it are enqueued as delayed jobs, in order; a throttled tenant is reported to MultiTenant and QuotaSla (UsageExceedsQuota, resource request_rate).')
    .action(async (type: string | undefined, flags: EnqueueFlags, command: Command) => {
      const { checkFlagEvent, checkJsonEvent, checkNdjsonStream, fieldFlags, describeIssues } = await import('../enqueue/events.ts');
      const { reuseWithinInput } = await import('../enqueue/reused-keys.ts');
      const { redisUrl, partitionsOf, prefixOf } = await import('../enqueue/redis.ts');
      const { commandClock } = await import('../test-clock.ts');
      // GOVERNOR_TEST_CLOCK (tests only): default occurredAt and the "at most 1 h ahead" check on the nodes' test time.
      const now = commandClock().now();
      const eventJson = typeof flags.json === 'string' ? flags.json : undefined;
      const jsonReport = flags.json !== undefined;
      const batch = Number(flags.batch);
      if (!Number.isInteger(batch) || batch < 1) throw new CliError(`--batch: "${flags.batch}" is not a positive integer`);
      let waitMs: number | undefined;
      if (flags.wait !== undefined) {
        const seconds = flags.wait === true ? 30 : Number(flags.wait);
        if (!Number.isFinite(seconds) || seconds <= 0) {
          // `--wait TYPE …` takes the event type as its seconds: say how to write it instead.
          const hint = /^[A-Za-z]/.test(String(flags.wait)) ? `; to wait the default 30 s, put --wait after the event type (enqueue ${String(flags.wait)} … --wait) or write --wait=30` : '';
          throw new CliError(`--wait: "${String(flags.wait)}" is not a positive number of seconds${hint}`);
        }
        waitMs = seconds * 1000;
      }
      // After --wait: `--wait TYPE` leaves no type, and the --wait message says why.
      const sources = [type !== undefined, eventJson !== undefined, flags.file !== undefined].filter(Boolean).length;
      if (sources !== 1) throw new CliError('give exactly one of: <Type> --customer <id> [--field value …], --json \'<event>\', --file <events.ndjson | ->');
      const partitions = partitionsOf(flags);

      const bulk = flags.file !== undefined;
      // Good events are kept (to be enqueued), bad ones only counted past the first few.
      const accepted: LifecycleEvent[] = [];
      const lineOf = new Map<LifecycleEvent, number>();
      const rejections = new Rejections();
      const repeats: RepeatedLine[] = [];
      const reuse = reuseWithinInput();
      const take = (input: CheckedEvent): void => {
        const c = reuse(input);
        if ('repeat' in c) repeats.push(c);
        else if (c.ok) {
          accepted.push(c.event);
          lineOf.set(c.event, c.line);
        } else rejections.add(c.line, describeIssues(c.issues));
      };
      if (type !== undefined) {
        const extra = command.args.slice(1);
        let fields: [string, string][];
        try {
          fields = fieldFlags(extra);
        } catch (error) {
          throw new CliError((error as Error).message);
        }
        take(checkFlagEvent(type, flags.customer, fields, now));
      } else {
        if (flags.customer !== undefined || command.args.length > 0) throw new CliError('--customer and --field flags go with <Type>, not with --json or --file');
        if (eventJson !== undefined) take(checkJsonEvent(eventJson, 1, now));
        else for await (const c of checkNdjsonStream(await openInput(flags.file!), now)) take(c);
      }
      const total = accepted.length + rejections.count + repeats.length;

      if (!bulk && rejections.count > 0) {
        if (jsonReport) process.stdout.write(`${JSON.stringify({ enqueued: [], ...rejections.report() }, null, 2)}\n`);
        throw new CliError(`the event was not accepted, nothing was enqueued:\n  ${rejections.shown[0]!.issues.join('\n  ')}`, enqueueExitCode({ badInput: true }));
      }
      if (bulk && flags.strict === true && rejections.count > 0) {
        if (jsonReport) process.stdout.write(`${JSON.stringify({ enqueued: [], ...rejections.report() }, null, 2)}\n`);
        throw new CliError(`--strict: ${rejections.count} of ${total} events rejected, nothing was enqueued:\n${rejections.lines().join('\n')}`, enqueueExitCode({ badInput: true }));
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
        // In bulk (without --strict) an eventId reused for other content is a bad line; alone, or with --strict, nothing is enqueued.
        const onReusedKey = bulk && flags.strict !== true ? 'skip' : 'abort';
        let reused: { event: LifecycleEvent; reason: string }[];
        const { nodeVariable } = await import('../node-environment.ts');
        // The customer shows on the `governor.enqueue` spans as on the nodes': its receipt pseudonym.
        const pseudonymKey = nodeVariable('GOVERNOR_PSEUDONYM_KEY');
        const { flushSpans } = await import('../flush-spans.ts');
        try {
          ({ ids, outcomes, throttled, delayed, reused } = await enqueueEvents({ url, prefix: prefixOf(flags), partitions, batch, waitMs, onReusedKey, pseudonymKey }, accepted));
        } finally {
          // The command exits next: its `governor.enqueue` spans, each trace's root, go out first.
          await flushSpans((message) => process.stderr.write(`governor: ${message}\n`));
        }
        for (const r of reused) rejections.add(lineOf.get(r.event) ?? 0, [`$.eventId: ${r.reason} (idempotency_key_reused), got ${JSON.stringify(r.event.eventId)}`]);
      }
      const refusals = throttled.map((t) => ({ eventId: t.event.eventId, customerId: t.event.customerId, tier: t.tier, perSecond: t.perSecond, retryAfterMs: t.retryAfterMs }));
      const repeated = repeats.map((r) => ({ line: r.line, eventId: r.event.eventId, of: r.of }));
      if (jsonReport) {
        const report = {
          enqueued: ids,
          ...rejections.report(),
          ...(repeated.length > 0 ? { repeated } : {}),
          ...(refusals.length > 0 ? { throttled: refusals } : {}),
          ...(outcomes ? { outcomes: Object.fromEntries(outcomes) } : {}),
        };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        // In the order of the input: a repeat next to the events around it, saying which line it repeats.
        const lineOfId = new Map<string, number>();
        for (const event of accepted) if (!lineOfId.has(event.eventId)) lineOfId.set(event.eventId, lineOf.get(event)!);
        const printed = ids.map((id) => {
          const outcome = outcomes?.get(id);
          return { line: lineOfId.get(id) ?? 0, text: outcome ? `${id} ${describeOutcome(outcome)}` : id };
        });
        for (const r of repeated) {
          const outcome = outcomes?.get(r.eventId);
          printed.push({ line: r.line, text: `${r.eventId} duplicate of line ${r.of}${outcome ? ` (${describeOutcome(outcome)})` : ''}` });
        }
        printed.sort((a, b) => a.line - b.line);
        for (const { text } of printed) process.stdout.write(`${text}\n`);
      }
      if (bulk) {
        const repeatNote = repeated.length > 0 ? `, ${repeated.length} repeated (a duplicate of an earlier line, not enqueued again)` : '';
        process.stderr.write(`governor: ${ids.length} enqueued, ${rejections.count} rejected${repeatNote}\n`);
        for (const line of rejections.lines()) process.stderr.write(`${line}\n`);
      }
      if (delayed.length > 0) {
        const longest = Math.max(...delayed.map((d) => d.delayMs));
        process.stderr.write(`governor: ${delayed.length} enqueued as delayed jobs, at their tenant's rate (the last in ${(longest / 1000).toFixed(1)} s)\n`);
      }
      if (refusals.length > 0) {
        process.stderr.write(`governor: ${refusals.length} throttled, nothing was enqueued for them:\n`);
        for (const r of refusals) {
          process.stderr.write(`  ${r.eventId}: customer ${r.customerId} is over the ${r.tier} tier's ${r.perSecond} events/s; retry after ${seconds(r.retryAfterMs)}\n`);
        }
      }
      const all = outcomes ? [...outcomes.values()] : [];
      const pending = all.some((o) => o.status === 'pending');
      if (pending) process.stderr.write('governor: not handled in time: is a node running on this Redis (governor start --redis) with the same --prefix?\n');
      process.exitCode = enqueueExitCode({ unavailable: pending, badInput: rejections.count > 0, throttled: refusals.length > 0, refused: all.some(isRefusal) });
    });
}

/** A wait in seconds to one decimal, rounded up: "retry after 0.0 s" would be a lie. */
function seconds(ms: number): string {
  return `${(Math.ceil(ms / 100) / 10).toFixed(1)} s`;
}
