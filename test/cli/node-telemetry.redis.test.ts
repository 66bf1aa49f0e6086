import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNodeWithMetrics } from './governor-command.ts';

// One real `governor start` node against a private Redis, fed by the real `governor enqueue`:
// its /metrics, its telemetry stream, and `governor stats` reading that stream back.

/** Generous: two shared cores, and a node that starts BullMQ workers for every partition. */
const LIMIT_MS = 60_000;
const keys = new RedisKeys('governor');
const run = `${process.pid}-${Date.now().toString(36)}`;
const customers = [`tele-alice-${run}`, `tele-bob-${run}`, `tele-carol-${run}`];

let redis: RedisHandle;
let node: ChildProcess | undefined;
let metricsUrl: string;
let nodeLog: () => string = () => '';

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  ({ node, metricsUrl, stderr: nodeLog } = await startGovernorNodeWithMetrics(['--redis', redis.url, '--name', 'tele-1'], { GOVERNOR_TELEMETRY_SECRET: 'a-test-secret-of-enough-length', GOVERNOR_TELEMETRY_ERRORS: '1' }, { limitMs: LIMIT_MS }));
  for (const [i, customer] of customers.entries()) {
    const enqueued = governor(['enqueue', 'CustomerSubscribes', '--customer', customer, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url]);
    expect(enqueued.stderr + enqueued.stdout).not.toMatch(/error/i);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    // An upgrade from a SKU the customer does not have: rejected, compensated, an error event.
    if (i === 0) governor(['enqueue', 'CustomerUpgrades', '--customer', customer, '--from-sku', 'NOPE', '--to-sku', 'ENT-YEARLY', '--redis', redis.url]);
  }
}, LIMIT_MS * 2);

afterAll(async () => {
  if (node && node.exitCode === null) {
    const exited = new Promise((resolve) => node!.once('exit', resolve));
    node.kill('SIGTERM');
    await exited;
  }
  await redis?.stop();
});

/** Polls `check` until it returns a value, or fails with the last problem after LIMIT_MS. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + LIMIT_MS;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${LIMIT_MS} ms; node log:\n${nodeLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The value of one series in a Prometheus text body, or undefined. */
function series(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    // Label values are quoted and may hold braces (queue names carry their hash tag: `{p.0}`).
    const match = /^([a-z_:]+)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const text = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => text.includes(`${key}="${value}"`))) return Number(match[3]);
  }
  return undefined;
}

describe('governor start --metrics-port', () => {
  it('serves /metrics with the lifecycle counters moved by enqueued events, and /healthz', async () => {
    const body = await eventually(async () => {
      const text = await (await fetch(metricsUrl)).text();
      const done = series(text, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerSubscribes', outcome: 'completed' }) ?? 0;
      return done >= customers.length ? text : undefined;
    }, 'three completed CustomerSubscribes in /metrics');
    expect(series(body, 'governor_actors_alive', { kind: 'orchestrator' })).toBeGreaterThan(0);
    expect(series(body, 'governor_messages_received_total', { kind: 'orchestrator' })).toBeGreaterThan(0);
    expect(series(body, 'governor_messages_sent_total', { kind: 'orchestrator' })).toBeGreaterThan(0);
    expect(body).toMatch(/^governor_queue_depth\{partition="\d+",state="waiting"\} \d+$/m);
    expect(series(body, 'governor_dead_letters', { queue: '{dlq}' })).toBe(0);
    expect(body).toContain('# TYPE governor_supervisor_restarts_total counter');
    expect(body).toContain('# TYPE process_cpu_seconds_total counter');

    const health = await fetch(metricsUrl.replace(/\/metrics$/, '/healthz'));
    expect(health.status).toBe(200);
  });

  it('counts the rejected upgrade and its compensation', async () => {
    const body = await eventually(async () => {
      const text = await (await fetch(metricsUrl)).text();
      return (series(text, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerUpgrades', outcome: 'rejected' }) ?? 0) >= 1 ? text : undefined;
    }, 'a rejected CustomerUpgrades in /metrics');
    expect(body).toMatch(/^governor_compensations_total\{governor="[A-Za-z]+"\} [1-9]/m);
  });
});

describe('product telemetry of a running node', () => {
  it('flushes batches to the Redis stream, with organisations as HMAC tokens only', async () => {
    const client = redis.client();
    const entries = await eventually(async () => {
      const found = await client.xrange(keys.telemetryStream, '-', '+');
      const types = new Set(found.map(([, fields]) => fields[fields.indexOf('type') + 1]));
      return types.has('execution_end') && types.has('feature_adoption') && types.has('execution_start') ? found : undefined;
    }, 'telemetry in the stream');
    const raw = JSON.stringify(entries);
    for (const customer of customers) expect(raw).not.toContain(customer);
    const events = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as { organisation: string; feature: string; tier: string | null });
    for (const event of events) expect(event.organisation).toMatch(/^[0-9a-f]{64}$/);
    expect(events.filter((e) => e.feature === 'CustomerSubscribes' && e.tier === 'professional').length).toBeGreaterThanOrEqual(customers.length);
  });
});

describe('governor stats', () => {
  it('prints latency percentiles per feature, adoption per tier and the nodes’ health', async () => {
    // The node's summary (with its health history) is refreshed on each flush, and an early
    // flush may hold only some of the events: wait until stats has seen all three subscriptions.
    const json = await eventually(async () => {
      const result = governor(['stats', '--redis', redis.url, '--json']);
      if (result.code !== 0) return undefined;
      const parsed = JSON.parse(result.stdout) as { latency: Record<string, { count: number }> };
      return (parsed.latency['CustomerSubscribes']?.count ?? 0) >= customers.length ? result : undefined;
    }, 'three CustomerSubscribes in governor stats');
    const text = governor(['stats', '--redis', redis.url]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/latency by feature\s+count\s+p50\s+p95\s+p99/);
    expect(text.stdout).toMatch(/CustomerSubscribes\s+\d+ /);
    expect(text.stdout).toContain('professional (');
    expect(text.stdout).toMatch(/tele-1\/redis\s+\d/);
    expect(text.stdout).toContain('nodes reporting: tele-1');

    const summary = JSON.parse(json.stdout) as { latency: Record<string, { count: number; p99: number }>; adoption: Record<string, unknown>; nodes: string[] };
    expect(summary.latency['CustomerSubscribes']!.count).toBeGreaterThanOrEqual(customers.length);
    expect(summary.adoption['professional']).toBeDefined();
    expect(summary.nodes).toEqual(['tele-1']);
    for (const customer of customers) expect(json.stdout).not.toContain(customer);
  });

  it('reports an empty stream as no events, not as an error', () => {
    const result = governor(['stats', '--redis', redis.url, '--prefix', '{nobody-here}']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('events: 0 recorded');
    expect(result.stdout).toContain('nodes reporting: none');
  });

  it('says how to fix a missing Redis URL, with exit code 2', () => {
    const result = governor(['stats'], { env: { REDIS_URL: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--redis');
  });
});
