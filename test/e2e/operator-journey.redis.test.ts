/**
 * Issue 17 as an operator of Node services meets it, with the real binary, a real node process and a
 * private `redis-server`, in the README's order: `--version`; a node started with a metrics port;
 * an event enqueued and waited for; the state read back as JSON (`repl --eval … --json`); `/metrics`
 * scraped and parsed (standard Node names, build info, partitions owned, a dead letter counted by
 * reason); the node's JSON log lines name the node and show customers only as pseudonyms; SIGTERM
 * stops it with exit 0.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { pseudonymiseCustomer } from '../../src/marketplace/receipts.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { governorAsync as governor, startGovernorNodeWithMetrics } from '../cli/governor-command.ts';
import { parsePrometheusText, samplesOf } from '../support/prometheus-text.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const LIMIT_MS = 90_000;
const PSEUDONYM_KEY = randomBytes(32).toString('base64url');
// Random, so finding it in a log line can only mean the node wrote the raw id.
const customer = `op-${randomBytes(6).toString('hex')}`;
const pseudonym = `~${pseudonymiseCustomer(customer, PSEUDONYM_KEY).slice(0, 16)}`;

let redis: RedisHandle | undefined;
let node: ChildProcess | undefined;
afterAll(async () => {
  node?.kill('SIGKILL');
  await redis?.stop();
});

it('an operator’s journey: version, a node with metrics, an event, JSON reads, parsed metrics, pseudonymous logs, a clean stop', async () => {
  redis = await startRedis({ mode: 'private' });
  const env = { REDIS_URL: redis.url, GOVERNOR_PSEUDONYM_KEY: PSEUDONYM_KEY, GOVERNOR_TELEMETRY: '0' };

  const version = await governor(['--version']);
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);

  // A node as the README starts it, logging JSON lines (stderr is a pipe) at info.
  const started = await startGovernorNodeWithMetrics(['--name', 'op-1', '--log-level', 'info'], env, { limitMs: LIMIT_MS });
  node = started.node;
  const { metricsUrl } = started;

  // An event, waited for.
  const subscribed = await governor(['enqueue', 'CustomerSubscribes', '--customer', customer, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '60'], { env });
  expect(subscribed.code, subscribed.stderr).toBe(0);
  expect(subscribed.stdout).toContain('completed');

  // Its state, read back as JSON a script can use.
  const state = await governor(['repl', '--eval', `get_state('Subscription/${customer}')`, '--json'], { env });
  expect(state.code, state.stderr).toBe(0);
  expect(JSON.parse(state.stdout)).toMatchObject({ value: expect.any(String) });

  // A producer's invalid job for the customer: dead-lettered with a reason that names the entity.
  const producer = await GovernorProducer.connect({ url: redis.url });
  const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: customer }), { connection: redis.client(), prefix: 'governor' });
  const bad = { type: 'CustomerSubscribes', customerId: customer, eventId: `bad-${randomBytes(4).toString('hex')}`, occurredAt: new Date().toISOString(), tier: 'professional' };
  const id = messageIdOf(bad as unknown as LifecycleEvent);
  await queue.add('lifecycle', { v: 1, id, env: { t: 'cast', to: { entity: 'Orchestrator', key: customer }, event: { type: 'lifecycle', event: bad, receivedAt: Date.now() } } }, { jobId: id });
  await queue.close();
  await producer.close();

  // /metrics, parsed as the text format.
  let families = parsePrometheusText(await (await fetch(metricsUrl)).text());
  for (let i = 0; i < 200 && samplesOf(families, 'governor_dead_lettered_total').length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    families = parsePrometheusText(await (await fetch(metricsUrl)).text());
  }
  expect(families.get('process_cpu_seconds_total')?.type).toBe('counter');
  expect(families.has('governor_process_cpu_seconds_total')).toBe(false);
  expect(samplesOf(families, 'governor_build_info')[0]?.value).toBe(1);
  expect(samplesOf(families, 'governor_partitions_owned')[0]?.value).toBeGreaterThan(0);
  expect(samplesOf(families, 'governor_dead_lettered_total').reduce((sum, s) => sum + s.value, 0)).toBe(1);

  // SIGTERM: a clean stop, exit 0.
  const exit = new Promise<number | null>((resolve) => node!.once('exit', resolve));
  node.kill('SIGTERM');
  expect(await exit).toBe(0);

  // The log as a collector reads it: JSON lines, each naming the node; the customer only as a pseudonym.
  const log = started.stderr();
  const lines = log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line.node, JSON.stringify(line)).toBe('op-1');
  const deadLettered = lines.find((line) => line.msg === 'dead-lettered');
  expect(deadLettered, log).toBeDefined();
  expect(String(deadLettered!.reason)).toContain(`Orchestrator/${pseudonym}`);
  expect(String(deadLettered!.jobId)).toBe(id.replace(customer, pseudonym));
  expect(log.split('\n').filter((line) => line.includes(customer))).toEqual([]);
}, LIMIT_MS * 3);
