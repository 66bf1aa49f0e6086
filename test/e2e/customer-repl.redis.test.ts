/**
 * GDPR from the admin REPL (`governor repl`) against a real node: customer_export reads without
 * the token; customer_erase changes the system, so it is refused without the token (by the REPL
 * before sending, and by the node for an unsigned request pushed by hand, which it logs) and runs
 * with it, as an event with its own receipt.
 */
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminReply, AdminRequest } from '../../src/cli/admin-protocol.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const TOKEN = 'gdpr-admin-token';
const EMAIL = 'hedy.lamarr@example.com';
let redis: RedisHandle;
let prefix: string;
let keys: RedisKeys;
let node: ChildProcess;
let nodeErr = '';
let client: Redis;

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  prefix = `${redis.prefix}:{gdpr-repl}`;
  keys = new RedisKeys(prefix);
  client = redis.client();
  node = await startGovernorNode(['--redis', redis.url, '--prefix', prefix, '--name', 'g1'], { GOVERNOR_ADMIN_TOKEN: TOKEN, GOVERNOR_PSEUDONYM_KEY: 'gdpr-repl-pseudonym-key-0123456789', GOVERNOR_TELEMETRY: '0' });
  node.stderr!.on('data', (chunk: Buffer) => (nodeErr = (nodeErr + chunk.toString()).slice(-200_000)));
}, 60_000);

afterAll(async () => {
  if (node && node.exitCode === null && node.signalCode === null) await new Promise((resolve) => (node.once('exit', resolve), node.kill('SIGTERM')));
  await redis?.stop();
}, 60_000);

const repl = (expr: string, token: string) =>
  governor(['repl', '--redis', redis.url, '--prefix', prefix, '--eval', `(${expr}).then((v) => JSON.stringify(v))`], { env: { GOVERNOR_ADMIN_TOKEN: token } });

async function replJson<T>(expr: string, token = TOKEN): Promise<T> {
  const run = await repl(expr, token);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const receipts = (customerId: string) => client.llen(keys.journal({ entity: 'Receipts', key: customerId }));

describe('customer_export and customer_erase in the REPL', () => {
  it('exports without the token, refuses erasure without it (logged on the node), erases with it', async () => {
    const c = 'repl-hedy';
    const subscribe = { type: 'CustomerSubscribes', customerId: c, sku: 'PRO-MONTHLY', tier: 'professional', contact: { name: 'Hedy Lamarr', email: EMAIL } };
    await replJson(`enqueue(${JSON.stringify(subscribe)})`);
    const exported = await (async () => {
      for (let i = 0; i < 200; i++) {
        const run = await repl(`customer_export('${c}')`, '');
        if (run.code === 0 && run.stdout.includes(EMAIL)) return JSON.parse(run.stdout) as { personalData: unknown; receipts: unknown[] };
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`the subscription was never exported\n${nodeErr.slice(-3_000)}`);
    })();
    expect(exported.personalData).toEqual({ contact: { name: 'Hedy Lamarr', email: EMAIL } });
    const length = await receipts(c);

    // No token at the REPL: refused before anything is sent.
    const refused = await repl(`customer_erase('${c}')`, '');
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/ADMIN_NO_TOKEN|GOVERNOR_ADMIN_TOKEN/);

    // An unsigned request pushed straight onto the node's list: refused by the node, and logged.
    const request: AdminRequest = { id: randomUUID(), node: 'g1', command: 'customer_erase', args: [c], nonce: randomUUID(), issuedAt: Date.now() };
    await client.rpush(keys.adminRequests('g1'), JSON.stringify(request));
    const popped = await client.blpop(keys.adminReply(request.id), 20);
    expect(JSON.parse(popped![1]) as AdminReply).toMatchObject({ ok: false, code: 'ADMIN_UNSIGNED' });
    // The node logs before it replies, but its log reaches this process through a pipe, which may
    // come after the reply through Redis: wait for the line rather than race it.
    await expect.poll(() => nodeErr, { timeout: 10_000 }).toMatch(/admin command refused/);
    expect(nodeErr).toContain(request.id);

    // Nothing was erased by either.
    expect(await receipts(c)).toBe(length);
    expect((await replJson<{ personalData: unknown }>(`customer_export('${c}')`, '')).personalData).toEqual({ contact: { name: 'Hedy Lamarr', email: EMAIL } });

    const erased = await replJson<{ status: string; heldAfter: string[] }>(`customer_erase('${c}')`);
    expect(erased).toMatchObject({ status: 'erased', heldAfter: [] });
    expect(await receipts(c)).toBe(length + 1);
    const after = await replJson<{ personalData: unknown; log: { verifies: boolean } }>(`customer_export('${c}')`, '');
    expect(after.personalData).toEqual({ contact: null });
    expect(after.log.verifies).toBe(true);
    expect(JSON.stringify(after)).not.toContain(EMAIL);
    expect(await replJson<{ ok: boolean }>(`audit_verify('${c}')`, '')).toMatchObject({ ok: true });
  }, 180_000);

  it('an unknown customer is a clear error', async () => {
    const run = await repl(`customer_export('nobody')`, '');
    expect(run.stdout + run.stderr).toMatch(/CUSTOMER_NOT_FOUND|no customer "nobody"/);
  }, 60_000);
});
