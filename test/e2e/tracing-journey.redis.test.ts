/**
 * An operator following the README's Telemetry section, step by step, on real processes and a
 * private `redis-server`: the `otel-setup.mjs` the README shows (copied from the README itself,
 * with its BatchSpanProcessor), an exporter of their own beside it, `GOVERNOR_OTEL=1 governor
 * start`, then `governor enqueue --wait` with the same setup. The CLI's `governor.enqueue` span,
 * the root of the event's trace, must reach the exporter although the command exits long before a
 * batch is due (it did not, until the CLI flushed), and the node's commit must be in the same
 * trace. Then a producer in "another language" writes a job by the README's job format with a
 * field missing: it ends *failed* in its own queue with the reason, and `governor dlq list` links
 * to it. A SIGTERM stops the node with exit 0, its last spans exported.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governorAsync as governor, startGovernorNodeWithMetrics } from '../cli/governor-command.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const LIMIT_MS = 120_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const db = privateRedisForFile();

/** The README's `otel-setup.mjs`, as printed there (the code block that starts with its name). */
function readmeSetup(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  // Indented as the list item it is in: the indentation goes, the code stays as printed.
  const block = /^( *)```js\n\1(\/\/ otel-setup\.mjs\n[\s\S]*?)\1```/m.exec(readme);
  if (!block) throw new Error('README.md has no otel-setup.mjs block any more: update this journey with it');
  return block[2]!.replace(new RegExp(`^${block[1]}`, 'gm'), '');
}

/** The operator's own exporter (the README leaves it to them): each span as a JSON line, at once. */
const MY_EXPORTER = `import { appendFileSync } from 'node:fs';
export const exporter = {
  export(spans, done) {
    const lines = spans.map((s) => JSON.stringify({ pid: process.pid, name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, parentSpanId: s.parentSpanContext?.spanId }));
    if (lines.length > 0) appendFileSync(process.env.SPANS_FILE, lines.join('\\n') + '\\n');
    done({ code: 0 });
  },
  shutdown: async () => {},
  forceFlush: async () => {},
};
`;

interface SpanLine {
  readonly pid: number;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
}

// Inside the repository, so the setup's imports resolve to its node_modules as in a user's project.
const dir = join(ROOT, 'reports', `tracing-journey-${randomBytes(4).toString('hex')}`);
const spansFile = join(dir, 'spans.jsonl');
let env: Record<string, string>;
let node: ChildProcess | undefined;
let prefix: string;

const spans = (): SpanLine[] =>
  existsSync(spansFile)
    ? readFileSync(spansFile, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as SpanLine)
    : [];

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'otel-setup.mjs'), readmeSetup());
  writeFileSync(join(dir, 'my-exporter.mjs'), MY_EXPORTER);
  prefix = `trace${db.next()}`;
  env = { REDIS_URL: db.redis.url, GOVERNOR_PREFIX: prefix, GOVERNOR_TELEMETRY: '0', GOVERNOR_OTEL: '1', NODE_OPTIONS: `--import=${join(dir, 'otel-setup.mjs')}`, SPANS_FILE: spansFile };
  node = (await startGovernorNodeWithMetrics(['--name', 'traced-1', '--prefix', prefix], env, { limitMs: LIMIT_MS })).node;
}, LIMIT_MS);

afterAll(() => {
  if (node?.exitCode === null) node.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('tracing, as the README tells an operator to set it up', () => {
  let root: SpanLine | undefined;

  it('governor enqueue exports its span, the root of the trace, before it exits', async () => {
    const run = await governor(['enqueue', 'CustomerSubscribes', '--customer', `traced-${db.next()}`, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '60'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('completed');
    // Read once the command has exited: a span still in the batch processor would be lost.
    const roots = spans().filter((s) => s.name === 'governor.enqueue');
    expect(roots).toHaveLength(1);
    root = roots[0];
    expect(root!.parentSpanId).toBeUndefined();
  }, LIMIT_MS);

  it('a job written by another producer without occurredAt ends failed in its queue, and dlq list links to it', async () => {
    const customerId = `poison-${db.next()}`;
    const partition = createHash('sha256').update(customerId, 'utf8').digest().readUInt32BE(0) % 16;
    const id = `ev.${customerId}/poison-1`;
    const jobId = `Orchestrator/${customerId}/${id}`;
    const queue = new Queue(`{p.${partition}}`, { connection: db.client, prefix });
    try {
      await queue.add('CustomerSubscribes', { v: 1, id, env: { t: 'cast', to: { entity: 'Orchestrator', key: customerId }, event: { type: 'lifecycle', event: { type: 'CustomerSubscribes', eventId: 'poison-1', customerId, sku: 'PRO-MONTHLY', tier: 'professional' } } } }, { jobId });
      await expect.poll(() => queue.getJobState(jobId), { timeout: 60_000, interval: 200 }).toBe('failed');
      const failed = await queue.getJob(jobId);
      expect(failed?.failedReason).toMatch(/occurredAt: the field is required/);
      const listed = await governor(['dlq', 'list', '--json'], { env });
      expect(listed.code, listed.stderr).toBe(0);
      const letters = JSON.parse(listed.stdout) as { id: string; queue: string; jobId: string; reason: string }[];
      const letter = letters.find((l) => l.jobId === jobId);
      expect(letter).toMatchObject({ queue: `{p.${partition}}`, reason: failed!.failedReason });
    } finally {
      await queue.close();
    }
  }, LIMIT_MS);

  it('SIGTERM stops the node with exit 0, its spans of the event in the CLI’s trace', async () => {
    const exited = new Promise<number | null>((resolve) => node!.once('exit', resolve));
    node!.kill('SIGTERM');
    expect(await exited).toBe(0);
    const trace = spans().filter((s) => s.traceId === root?.traceId);
    expect(new Set(trace.map((s) => s.pid)).size).toBe(2);
    expect(trace.map((s) => s.name)).toEqual(expect.arrayContaining(['governor.enqueue', 'governor.process', 'governor.step', 'governor.commit']));
    const ids = new Set(trace.map((s) => s.spanId));
    for (const span of trace) if (span !== root && span.spanId !== root?.spanId) expect(ids.has(span.parentSpanId ?? ''), `${span.name} has its parent in the trace`).toBe(true);
  }, LIMIT_MS);
});
