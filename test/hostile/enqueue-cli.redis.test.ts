/**
 * Hostile input for the real `governor enqueue` binary, beyond test/cli/enqueue.redis.test.ts:
 * NDJSON with every kind of bad line (truncated, NaN, lone surrogates, nested `__proto__`, huge,
 * deep, not an object, not UTF-8), in bulk with and without `--strict`, and one huge line. Each
 * run exits 2 and names the line and the rule; nothing of a refused line reaches Redis (with
 * `--strict`, nothing at all), and the error output stays short whatever the input's size.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governor } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A prefix of the test's own and one partition, so every job of the run is in one queue. */
function target() {
  const prefix = `${redis.prefix}:{cli-${++serial}}`;
  return { prefix, args: ['--redis', redis.url, '--prefix', prefix, '--partitions', '1'] };
}

async function keysUnder(prefix: string): Promise<string[]> {
  return redis.client().keys(`${prefix}:*`);
}

/** The customers whose events are waiting in the run's partition queue. */
async function customersEnqueued(prefix: string): Promise<string[]> {
  const queue = new Queue('{p.0}', { connection: redis.client(), prefix });
  try {
    const jobs = await queue.getJobs(['waiting']);
    return jobs.map((job) => (job.data as { env: { to: { key: string } } }).env.to.key).sort();
  } finally {
    await queue.close();
  }
}

const cancel = (customerId: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'CustomerCancels', customerId, ...extra });

/** Line number → the bad line and the rule its rejection must name. */
const BAD_LINES: readonly { readonly text: string | Buffer; readonly rule: string }[] = [
  { text: '{"type":"CustomerCancels","customerId":"c-bad-truncated"', rule: 'not_json' },
  { text: '{"type":"UsageExceedsQuota","customerId":"c-bad-nan","resource":"executions","usage":NaN,"limit":1}', rule: 'not_json' },
  // JSON text may spell a lone surrogate as an escape: it is refused, not stored as U+FFFD.
  { text: '{"type":"CustomerCancels","customerId":"c-bad-surrogate","reason":"\\ud800"}', rule: 'well_formed' },
  { text: '{"type":"CustomerCancels","customerId":"c-bad-proto","reason":"x","extra":{"__proto__":{"admin":true}}}', rule: 'forbidden_key' },
  { text: cancel('c-bad-huge', { reason: 'x'.repeat(200_000) }), rule: 'max_size' },
  { text: `{"type":"CustomerCancels","customerId":"c-bad-deep","reason":${'['.repeat(5_000)}${']'.repeat(5_000)}}`, rule: 'max_depth' },
  { text: `[${cancel('c-bad-array')}]`, rule: 'type' },
  { text: '"CustomerCancels"', rule: 'type' },
  { text: '{"type":"CustomerCancels","customerId":"c-bad-amount","reason":"x","amount":"1e309"}', rule: 'unknown_field' },
  // Latin-1 "café": not UTF-8. Decoding it anyway would store "caf\uFFFD" without a word.
  { text: Buffer.concat([Buffer.from('{"type":"CustomerCancels","customerId":"c-bad-latin1","reason":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]), rule: 'not_json' },
];

/** NDJSON: a good line, the bad lines, a good line; with the line number of each bad one. */
function mixedInput(): { input: Buffer; badLineNumbers: number[] } {
  const lines: Buffer[] = [Buffer.from(cancel('c-good-first'))];
  const badLineNumbers: number[] = [];
  for (const bad of BAD_LINES) {
    lines.push(typeof bad.text === 'string' ? Buffer.from(bad.text) : bad.text);
    badLineNumbers.push(lines.length);
  }
  lines.push(Buffer.from(cancel('c-good-last', { eventId: 'good-last' })));
  return { input: Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])), badLineNumbers };
}

describe('governor enqueue --file with hostile NDJSON', () => {
  it('without --strict: enqueues the good lines, reports each bad one by number and rule, exit 2', async () => {
    const { prefix, args } = target();
    const { input, badLineNumbers } = mixedInput();
    const run = governor(['enqueue', '--file', '-', ...args], { input: input as unknown as string });
    expect(run.code, run.stderr).toBe(2);
    const ids = run.stdout.trim().split('\n');
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe('good-last');
    expect(run.stderr).toContain(`2 enqueued, ${BAD_LINES.length} rejected`);
    BAD_LINES.forEach((bad, i) => {
      const reported = run.stderr.split('\n').find((l) => l.startsWith(`  line ${badLineNumbers[i]}: `));
      expect(reported, `line ${badLineNumbers[i]} (${bad.rule})\n${run.stderr}`).toContain(`(${bad.rule})`);
    });
    // The huge and deep lines are named, not echoed.
    expect(run.stderr.length).toBeLessThan(5_000);
    expect(await customersEnqueued(prefix)).toEqual(['c-good-first', 'c-good-last']);
  });

  it('with --strict: one bad line anywhere and nothing is written at all, exit 2', async () => {
    const { prefix, args } = target();
    const { input, badLineNumbers } = mixedInput();
    const run = governor(['enqueue', '--file', '-', '--strict', ...args], { input: input as unknown as string });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`--strict: ${BAD_LINES.length} of ${BAD_LINES.length + 2} events rejected, nothing was enqueued`);
    for (const n of badLineNumbers) expect(run.stderr).toContain(`line ${n}: `);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('a 20 MB line is refused by its size without being parsed or echoed, and nothing is written', async () => {
    const { prefix, args } = target();
    const started = Date.now();
    const run = governor(['enqueue', '--file', '-', ...args], { input: cancel('c-bad-20mb', { reason: 'y'.repeat(20_000_000) }) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('0 enqueued, 1 rejected');
    expect(run.stderr).toContain('line 1: $: an event is at most 65536 bytes');
    expect(run.stderr.length).toBeLessThan(1_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('a UTF-8 byte order mark before the first line is not an error', async () => {
    const { prefix, args } = target();
    const run = governor(['enqueue', '--file', '-', ...args], { input: `\uFEFF${cancel('c-bom')}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(await customersEnqueued(prefix)).toEqual(['c-bom']);
  });
});

describe('governor enqueue --json with hostile text', () => {
  it.each([
    ['a lone surrogate escape', cancel('c-x', { reason: '\ud800' }), 'well_formed'],
    ['a nested constructor key', '{"type":"CustomerCancels","customerId":"c-x","reason":"x","meta":{"constructor":{"prototype":{}}}}', 'forbidden_key'],
    ['an absurd amount', JSON.stringify({ type: 'PaymentProcessed', customerId: 'c-x', amount: '99999999999999999999999999999999.99', currency: 'USD', paymentId: 'p-1' }), 'pattern'],
    ['a far date', JSON.stringify({ type: 'CustomerCancels', customerId: 'c-x', occurredAt: '+275760-09-13T00:00:00.000Z' }), '$.occurredAt'],
  ])('refuses %s with exit 2 and writes nothing', async (_, json, named) => {
    const { prefix, args } = target();
    const run = governor(['enqueue', '--json', json, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing was enqueued');
    expect(run.stderr).toContain(named);
    expect(await keysUnder(prefix)).toEqual([]);
  });
});
