import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { sign, type AdminRequest } from '../../src/cli/admin-protocol.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNode } from './governor-command.ts';

// Random, so finding either in an output can only mean it was read from the node's environment.
const TOKEN = `admin-token-${randomBytes(12).toString('hex')}`;
const PSEUDONYM_KEY = randomBytes(32).toString('base64url');
const keys = new RedisKeys('governor');
let redis: RedisHandle;
let node: ChildProcess;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  node = await startGovernorNode(['--redis', redis.url, '--name', 'n1'], { GOVERNOR_ADMIN_TOKEN: TOKEN, GOVERNOR_PSEUDONYM_KEY: PSEUDONYM_KEY });
}, 30_000);
afterAll(async () => {
  node?.kill('SIGTERM');
  client?.disconnect();
  await redis?.stop();
});

const repl = (expr: string, env: Record<string, string> = { GOVERNOR_ADMIN_TOKEN: TOKEN }) => governor(['repl', '--redis', redis.url, '--eval', expr], { env });

async function rawRequest(request: AdminRequest): Promise<{ ok: boolean; code?: string; message?: string; value?: unknown }> {
  await client.rpush(keys.adminRequests('n1'), JSON.stringify(request));
  const reply = await client.blpop(keys.adminReply(request.id), 5);
  return JSON.parse(reply![1]) as { ok: boolean; code?: string; message?: string; value?: unknown };
}

/** A signed request, as a holder of the token could push it without the REPL's client-side checks. */
const signed = (command: string, args: unknown[]): AdminRequest =>
  sign({ id: randomUUID(), node: 'n1', command, args, nonce: randomUUID(), issuedAt: Date.now() }, TOKEN);

/** The escape that read the node's environment when replace_state compiled functions node-side. */
const ESCAPE = "function () { return { context: { env: this.constructor.constructor('return process')().env } } }";

describe('governor repl over Redis', () => {
  it('reads the tree of the only live node, saying which node it picked', () => {
    const run = repl('tree()');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('attached to node n1');
    expect(run.stdout.length).toBeGreaterThan(0);
  });

  it("gets the state of a customer's orchestrator after an enqueued event", async () => {
    const enq = governor(['enqueue', 'CustomerSubscribes', '--customer', 'c-1', '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url]);
    expect(enq.code, enq.stderr).toBe(0);
    let run = repl("get_state('Orchestrator/c-1')");
    for (let i = 0; i < 20 && run.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      run = repl("get_state('Orchestrator/c-1')");
    }
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('value');
  });

  it('terminates and restarts a child of a supervisor, visible in which_children', () => {
    const before = repl("which_children('entities')");
    expect(before.code, before.stderr).toBe(0);
    const id = /id: '([^']+)'/.exec(before.stdout)?.[1];
    expect(id, before.stdout).toBeDefined();
    const term = repl(`terminate_child('entities', '${id}')`);
    expect(term.code, term.stderr).toBe(0);
    const after = repl("which_children('entities')");
    expect(after.stdout).toContain(`{ id: '${id}', pid: null`);
    const restart = repl(`restart_child('entities', '${id}')`);
    expect(restart.code, restart.stderr).toBe(0);
    expect(repl("which_children('entities')").stdout).toMatch(new RegExp(`\\{ id: '${id}', pid: '<n1\\.\\d+>'`));
  });

  it('--eval with --json prints the result as JSON a script can read', () => {
    const run = governor(['repl', '--redis', redis.url, '--eval', "which_children('entities')", '--json']);
    expect(run.code, run.stderr).toBe(0);
    const children = JSON.parse(run.stdout) as Array<{ id: string; pid: string | null }>;
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) expect(child.pid).toMatch(/^<n1\.\d+>$/);
    const alone = governor(['repl', '--redis', redis.url, '--json'], { input: '' });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--json goes with --eval');
  });

  it('without the token a mutating command is refused client-side with exit 1', () => {
    const run = repl("terminate_child('entities', 'x')", { GOVERNOR_ADMIN_TOKEN: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('need GOVERNOR_ADMIN_TOKEN');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a forged signature and a replayed nonce pushed straight into the admin list', async () => {
    const base: AdminRequest = { id: 'raw-1', node: 'n1', command: 'suspend', args: ['entities'], nonce: 'n-1', issuedAt: Date.now() };
    expect(await rawRequest({ ...base, signature: 'ab'.repeat(32) })).toMatchObject({ ok: false, code: 'ADMIN_BAD_SIGNATURE' });
    expect(await rawRequest(base)).toMatchObject({ ok: false, code: 'ADMIN_UNSIGNED' });
    const good = sign({ ...base, id: 'raw-2', command: 'resume' }, TOKEN);
    expect(await rawRequest(good)).toMatchObject({ ok: true });
    expect(await rawRequest({ ...good, id: 'raw-2' })).toMatchObject({ ok: false, code: 'ADMIN_REPLAYED' });
  });

  it('keeps the piped REPL running past a syntax error and an unknown command', () => {
    const run = governor(['repl', '--redis', redis.url], { input: 'tree(\nnope()\nstats()\n' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('error');
    expect(run.stdout).toContain('nope is not defined');
    expect(run.stdout).toContain("node: 'n1'");
  });

  it('exits 3 when Redis is unreachable or the named node does not answer, naming it', () => {
    const down = governor(['repl', '--redis', 'redis://127.0.0.1:1', '--eval', 'tree()']);
    expect(down.code).toBe(3);
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const ghost = governor(['repl', '--redis', redis.url, '--node', 'ghost', '--eval', 'tree()']);
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toContain('node ghost did not answer');
  });

  it('runs a signed replace_state: a JSON Patch on the context, checked by the node', () => {
    const ref = "'Entitlement/c-1'";
    const run = repl(`replace_state(${ref}, { patch: [{ op: 'add', path: '/patched', value: true }] })`);
    expect(run.code, run.stderr).toBe(0);
    expect(repl(`get_state(${ref})`).stdout).toContain('patched: true');
    const failed = repl(`replace_state(${ref}, { patch: [{ op: 'remove', path: '/patched' }, { op: 'test', path: '/patched', value: true }] })`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('PATCH_PATH_NOT_FOUND');
    expect(repl(`get_state(${ref})`).stdout).toContain('patched: true');
  });

  it('refuses code in replace_state, in the REPL and at the node, saying to send a JSON Patch', async () => {
    const run = repl(`replace_state('Entitlement/c-1', ${ESCAPE})`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error STATE_CHANGE_NOT_DATA: replace_state takes data, not code: send a JSON Patch/m);
    // Pushed straight onto the admin list, signed, as source text: the node refuses it too.
    const reply = await rawRequest(signed('replace_state', ['Entitlement/c-1', ESCAPE]));
    expect(reply).toMatchObject({ ok: false, code: 'STATE_CHANGE_NOT_DATA' });
    expect(reply.message).toContain('send a JSON Patch');
  });

  it("no admin command's output holds the node's secrets (admin token, pseudonym key)", async () => {
    // A resident actor to aim at: replace_state once ran code against it.
    const enq = governor(['enqueue', 'CustomerSubscribes', '--customer', 'c-secret', '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url, '--wait', '20']);
    expect(enq.code, enq.stderr).toBe(0);
    const lines = [
      'nodes()', 'tree()', "which_children('entities')", "count_children('entities')", "get_state('Entitlement/c-secret')", "get_status('entities')", 'stats()',
      'queues()', 'dlq()', 'audit_verify()', "audit_verify('c-secret')", "send('entities', { type: 'x' })", "call('Orchestrator/c-secret', { type: 'x' })",
      `replace_state('Entitlement/c-secret', ${ESCAPE})`, `replace_state('entities', ${ESCAPE})`,
      "replace_state('Entitlement/c-secret', { patch: [{ op: 'copy', from: '/constructor', path: '/env' }] })",
      "replace_state('Entitlement/c-secret', { patch: [{ op: 'add', path: '/__proto__/env', value: 1 }] })",
      "enqueue({ type: 'CustomerSubscribes', customerId: 'c-env', sku: 'PRO-MONTHLY', tier: 'professional' })", "dlq_replay('p.0~nope')",
      "suspend('entities')", "resume('entities')", 'help()',
    ];
    const run = governor(['repl', '--redis', redis.url], { input: `${lines.join('\n')}\n`, env: { GOVERNOR_ADMIN_TOKEN: TOKEN } });
    expect(run.code, run.stderr).toBe(0);
    // Every command, signed and sent raw with the escape in every argument: only data ever reaches the node.
    const commands = ['tree', 'which_children', 'count_children', 'get_state', 'get_status', 'stats', 'replace_state', 'suspend', 'resume', 'restart_child', 'send', 'call', 'enqueue', 'dlq_replay', 'queues', 'dlq', 'audit_verify', 'nodes', 'trace'];
    const replies = [];
    for (const command of commands) replies.push(await rawRequest(signed(command, [ESCAPE, ESCAPE, ESCAPE])));
    const seen = `${run.stdout}${run.stderr}${JSON.stringify(replies)}`;
    expect(seen).not.toContain(TOKEN);
    expect(seen).not.toContain(PSEUDONYM_KEY);
    expect(run.stdout).toContain('STATE_CHANGE_NOT_DATA');
    expect(run.stdout).toContain('PATCH_FORBIDDEN_PATH');
    expect(repl("get_state('Entitlement/c-secret')").stdout).not.toContain('env');
  });
});
