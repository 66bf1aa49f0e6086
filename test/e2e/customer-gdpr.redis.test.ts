/**
 * GDPR export and erasure end to end (issue 15): a real `governor start` node on a private Redis,
 * the real `governor enqueue`, `governor customer export|erase` and `governor audit verify`
 * commands. A customer subscribes with a contact and reports usage; the export holds it all;
 * the erasure removes every copy of the raw name and email from Redis (every key is scanned,
 * whatever its type), `audit verify` still passes on the export after, and a new event is
 * processed. Attacks: an unknown customer, an erasure twice (one receipt), an erasure racing an
 * in-flight event, a dead letter carrying the contact, an erasure under a legal hold. The node runs
 * with product telemetry and error reports on, so their Redis stream is scanned too.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSigningKeySeed, generateSigningKey } from '../../src/marketplace/signing-keys.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { eventually } from '../transport/conformance.ts';

const NAME = 'Ada Lovelace';
const EMAIL = 'ada.lovelace@example.com';
const ADDRESS = '12 St James Square, London';
const TAX_ID = 'GB123456789';
const SECRETS = [NAME, EMAIL, ADDRESS, TAX_ID];

let redis: RedisHandle;
let prefix: string;
let node: ChildProcess;
let nodeErr = '';
let client: Redis;
const dir = mkdtempSync(join(tmpdir(), 'gdpr-'));
const key = generateSigningKey('gdpr-test');
const SIGNING = `${key.kid}=${exportSigningKeySeed(key)}`;
const PUBLIC = `${key.kid}=${key.publicKey}`;

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  prefix = `${redis.prefix}:{gdpr}`;
  client = redis.client();
  node = await startGovernorNode(['--redis', redis.url, '--prefix', prefix, '--name', 'gdpr-1'], { GOVERNOR_PSEUDONYM_KEY: 'gdpr-e2e-pseudonym-key-0123456789', GOVERNOR_TELEMETRY_ERRORS: '1', GOVERNOR_TELEMETRY_SECRET: 'gdpr-e2e-telemetry-secret-0123456789' });
  node.stderr!.on('data', (chunk: Buffer) => (nodeErr = (nodeErr + chunk.toString()).slice(-100_000)));
}, 60_000);

afterAll(async () => {
  if (node && node.exitCode === null && node.signalCode === null) await new Promise((resolve) => (node.once('exit', resolve), node.kill('SIGTERM')));
  await redis?.stop();
}, 60_000);

const base = ['--redis', '', '--prefix', ''];
const flags = () => ((base[1] = redis.url), (base[3] = prefix), base);
let serial = 0;
const at = () => new Date().toISOString();

async function enqueue(event: Record<string, unknown>): Promise<string> {
  const full = { eventId: `e-${++serial}`, occurredAt: at(), ...event };
  const run = await governor(['enqueue', '--json', JSON.stringify(full), '--wait', '30', ...flags()]);
  expect(run.code, `${run.stdout}\n${run.stderr}\n${nodeErr.slice(-3_000)}`).toBe(0);
  return run.stdout;
}

const subscribe = (customerId: string, contact: Record<string, unknown> = { name: NAME, email: EMAIL, address: ADDRESS, taxId: TAX_ID }) =>
  enqueue({ type: 'CustomerSubscribes', customerId, sku: 'PRO-MONTHLY', tier: 'professional', trial: false, contact });

async function exportOf(customerId: string): Promise<{ code: number | null; file: string; json: Record<string, unknown>; stderr: string }> {
  const file = join(dir, `${customerId}-${++serial}.json`);
  const run = await governor(['customer', 'export', customerId, '--signing-key', SIGNING, '--out', file, ...flags()]);
  const json = run.code === 0 ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  return { code: run.code, file, json, stderr: run.stderr };
}

/** Every key in Redis and each one's content as text, whatever its type. */
async function dumpAll(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const type = await client.type(k);
      let text = '';
      if (type === 'string') text = (await client.get(k)) ?? '';
      else if (type === 'hash') text = JSON.stringify(await client.hgetall(k));
      else if (type === 'list') text = JSON.stringify(await client.lrange(k, 0, -1));
      else if (type === 'set') text = JSON.stringify(await client.smembers(k));
      else if (type === 'zset') text = JSON.stringify(await client.zrange(k, 0, -1));
      else if (type === 'stream') text = JSON.stringify(await client.xrange(k, '-', '+'));
      out.set(k, text);
    }
  } while (cursor !== '0');
  return out;
}

/** Keys whose content holds any of the raw personal strings (JSON-escaped or not). */
async function keysHolding(secrets: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const [k, text] of await dumpAll()) if (secrets.some((s) => text.includes(s) || text.includes(JSON.stringify(s).slice(1, -1)))) found.push(k);
  return found;
}

async function receiptsOf(customerId: string): Promise<number> {
  return client.llen(new RedisKeys(prefix).journal({ entity: 'Receipts', key: customerId }));
}

describe('governor customer export and erase, on a real node', () => {
  it('exports everything, erases every copy of the personal data, and the log still verifies', async () => {
    const c = 'gdpr-ada';
    await subscribe(c);
    await enqueue({ type: 'UsageRecorded', customerId: c, metric: 'executions', quantity: 10, idempotencyKey: 'u-0' });
    await enqueue({ type: 'UsageRecorded', customerId: c, metric: 'compute_gb_hours', quantity: '0.5', idempotencyKey: 'u-1' });
    // A dead letter carrying the contact: an event sent to another customer's orchestrator is refused.
    const letter = { type: 'CustomerSubscribes', eventId: 'dl-1', customerId: c, occurredAt: at(), sku: 'PRO-MONTHLY', tier: 'professional', contact: { email: EMAIL } };
    const { Queue } = await import('bullmq');
    const { hashKey } = await import('../../src/store/hash-key.ts');
    const q = new Queue(new RedisKeys(prefix).partitionQueue(String(hashKey(c) % 16)), { connection: redis.client(), prefix });
    await q.add('CustomerSubscribes', { v: 1, id: 'ev.dl-1', env: { t: 'cast', to: { entity: 'Orchestrator', key: c }, event: { type: 'lifecycle', event: { ...letter, customerId: 'someone-else' }, receivedAt: Date.now() } } }, { jobId: 'dl-1' });
    await q.close();
    await eventually(async () => expect((await governor(['dlq', 'list', '--json', ...flags()])).stdout).toContain('dl-1'), 30_000);

    const before = await exportOf(c);
    expect(before.code, before.stderr).toBe(0);
    expect(before.json.personalData).toEqual({ contact: { name: NAME, email: EMAIL, address: ADDRESS, taxId: TAX_ID } });
    expect((before.json.entities as { entity: string }[]).map((e) => e.entity)).toEqual(expect.arrayContaining(['Orchestrator', 'CustomerAccount', 'Compliance', 'Billing', 'Receipts']));
    expect((before.json.receipts as unknown[]).length).toBe(3);
    expect((before.json.deadLetters as unknown[]).length).toBe(1);
    expect(JSON.stringify(before.json.deadLetters)).toContain(EMAIL);
    // The receipts never held the contact, not even as a plain hash.
    expect(JSON.stringify(before.json.receipts)).not.toContain(EMAIL);
    const verifiedBefore = await governor(['audit', 'verify', '--file', before.file, '--public-key', PUBLIC]);
    expect(verifiedBefore.code, verifiedBefore.stdout + verifiedBefore.stderr).toBe(0);
    expect(await keysHolding(SECRETS)).not.toEqual([]);

    const erase = await governor(['customer', 'erase', c, '--requested-by', 'ops.dpo', '--json', ...flags()]);
    expect(erase.code, erase.stdout + erase.stderr).toBe(0);
    const report = JSON.parse(erase.stdout) as { status: string; heldBefore: string[]; heldAfter: string[]; queued: { jobsRedacted: number; deadLettersRedacted: number } };
    expect(report.status).toBe('erased');
    expect(report.heldBefore).toEqual(expect.arrayContaining(['CustomerAccount.contact', 'Receipts.personalSalt']));
    expect(report.heldAfter).toEqual([]);
    expect(report.queued.deadLettersRedacted).toBe(1);

    // Nowhere in Redis, in any key of any type.
    expect(await keysHolding(SECRETS)).toEqual([]);
    const after = await exportOf(c);
    expect(after.json.personalData).toEqual({ contact: null });
    for (const s of SECRETS) expect(JSON.stringify(after.json)).not.toContain(s);
    // The erasure is an event with its own receipt; the log is whole and verifies with the public key.
    expect((after.json.receipts as { entry: { type: string } }[]).map((r) => r.entry.type)).toEqual(['CustomerSubscribes', 'UsageRecorded', 'UsageRecorded', 'CustomerErasureRequested']);
    expect((after.json.receipts as unknown[]).slice(0, 3)).toEqual(before.json.receipts);
    const verified = await governor(['audit', 'verify', '--file', after.file, '--public-key', PUBLIC]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('whole from genesis');
    // The dead letter is still there, and still says why.
    expect(JSON.stringify(after.json.deadLetters)).toContain('[erased]');

    // Later events are processed as for any customer.
    await enqueue({ type: 'UsageRecorded', customerId: c, metric: 'executions', quantity: 5, idempotencyKey: 'u-2' });
    expect(await receiptsOf(c)).toBe(5);
    expect(await keysHolding(SECRETS)).toEqual([]);
  }, 180_000);

  it('erasing twice is one erasure with one receipt', async () => {
    const c = 'gdpr-twice';
    await subscribe(c, { email: 'twice@example.com' });
    const first = await governor(['customer', 'erase', c, '--json', ...flags()]);
    expect(first.code, first.stderr).toBe(0);
    const receipts = await receiptsOf(c);
    const second = await governor(['customer', 'erase', c, '--json', ...flags()]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'already-erased' });
    expect(await receiptsOf(c)).toBe(receipts);
    // Two racing at once: the same event id, so one receipt.
    const c2 = 'gdpr-race-twice';
    await subscribe(c2, { email: 'race2@example.com' });
    const runs = await Promise.all([governor(['customer', 'erase', c2, ...flags()]), governor(['customer', 'erase', c2, ...flags()])]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(await receiptsOf(c2)).toBe(2);
  }, 180_000);

  it('an erasure racing an in-flight event: both handled, in order, nothing personal left', async () => {
    const c = 'gdpr-race';
    await subscribe(c, { name: 'Grace Hopper', email: 'grace@example.com' });
    const payment = enqueue({ type: 'UsageRecorded', customerId: c, metric: 'executions', quantity: 3, idempotencyKey: 'u-race' });
    const erase = governor(['customer', 'erase', c, '--json', ...flags()]);
    const [, erased] = await Promise.all([payment, erase]);
    expect(erased.code, erased.stdout + erased.stderr).toBe(0);
    expect(await receiptsOf(c)).toBe(3);
    expect(await keysHolding(['Grace Hopper', 'grace@example.com'])).toEqual([]);
    const exported = await exportOf(c);
    const verified = await governor(['audit', 'verify', '--file', exported.file, '--public-key', PUBLIC]);
    expect(verified.code, verified.stdout).toBe(0);
  }, 180_000);

  it('refuses an unknown customer with a clear error and changes nothing', async () => {
    const named = async () => [...(await dumpAll()).keys()].filter((k) => k.includes('nobody-here'));
    for (const command of ['erase', 'export']) {
      const run = await governor(['customer', command, 'nobody-here', ...flags()]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/no customer "nobody-here".*CUSTOMER_NOT_FOUND/);
    }
    expect(await named()).toEqual([]);
  }, 60_000);

  it('refuses an erasure under a legal hold (an open audit), keeping the data and saying why', async () => {
    const c = 'gdpr-hold';
    await subscribe(c, { email: 'held@example.com' });
    await enqueue({ type: 'ManualSuspension', customerId: c, reason: 'fraud review', actor: 'ops' });
    const receipts = await receiptsOf(c);
    const run = await governor(['customer', 'erase', c, ...flags()]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/refused: .*LEGAL_HOLD/);
    expect(await receiptsOf(c)).toBe(receipts);
    expect((await exportOf(c)).json.personalData).toEqual({ contact: { email: 'held@example.com' } });
  }, 120_000);
});
