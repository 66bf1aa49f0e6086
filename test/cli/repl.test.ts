import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { SimulatedClock, createNode, reply, startSupervisor, worker, type Pid } from '../../src/index.ts';
import { LocalAdmin } from '../../src/cli/admin.ts';
import { adminCommands, createEvaluator, show, startRepl } from '../../src/cli/repl.ts';
import { marketplaceOperations } from '../../src/cli/embedded.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';

const counter = setup({ types: {} as { context: { n: number } } }).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'idle',
  states: {
    idle: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context.n) },
        crash: {
          actions: () => {
            throw new Error('boom');
          },
        },
      },
    },
  },
});

function system() {
  const node = createNode({ name: 'repl', clock: new SimulatedClock() });
  const root = startSupervisor(node, { strategy: 'one_for_one', intensity: 5, children: [worker('counter', counter, { name: 'counter' })] }, { name: 'root' });
  const printed: string[] = [];
  const admin = new LocalAdmin(node, () => root);
  const evaluate = createEvaluator(adminCommands(admin, (line) => printed.push(line)), { timeoutMs: 100 });
  return { node, root, evaluate, printed };
}

describe('admin REPL commands on the embedded node', () => {
  it('tree() lists the supervision tree with state values', async () => {
    const { evaluate } = system();
    const result = await evaluate('tree()');
    expect(result).toMatchObject({ ok: true, value: { id: 'root', kind: 'supervisor', children: [{ id: 'counter', kind: 'statem', stateValue: 'idle' }] } });
  });

  it('send, call and get_state see the same actor', async () => {
    const { evaluate } = system();
    await evaluate("send('counter', { type: 'inc' })");
    expect(await evaluate("call('counter', { type: 'get' })")).toEqual({ ok: true, value: 1 });
    expect(await evaluate("get_state('counter')")).toEqual({ ok: true, value: { value: 'idle', context: { n: 1 } } });
  });

  it('restart_child after terminate_child brings the child back with a new pid', async () => {
    const { evaluate, node } = system();
    const before = node.whereis('counter');
    expect(await evaluate("terminate_child('root', 'counter')")).toEqual({ ok: true, value: { ok: true } });
    expect(node.whereis('counter')).toBeUndefined();
    const restarted = await evaluate("restart_child('root', 'counter')");
    expect(restarted).toMatchObject({ ok: true, value: { ok: true } });
    expect(node.whereis('counter')).toBeDefined();
    expect(node.whereis('counter')).not.toBe(before);
  });

  it('trace streams events and transitions to the screen', async () => {
    const { evaluate, printed } = system();
    await evaluate("trace('counter', 'on')");
    await evaluate("send('counter', { type: 'inc' })");
    expect(printed.some((line) => line.includes('← cast {"type":"inc"}'))).toBe(true);
    expect(await evaluate("call('counter', { type: 'get' })")).toEqual({ ok: true, value: 1 });
    const [, callIn, replyOut] = printed;
    expect(callIn).toMatch(/^\[trace <repl\.\d+>\] ← call \{"type":"get"\}$/);
    expect(replyOut).toMatch(/^\[trace <repl\.\d+>\] → caller \S+@repl reply 1$/);
    await evaluate("trace('counter', 'off')");
    const count = printed.length;
    await evaluate("send('counter', { type: 'inc' })");
    expect(printed.length).toBe(count);
  });

  it('suspend queues messages and resume handles them', async () => {
    const { evaluate } = system();
    await evaluate("suspend('counter')");
    await evaluate("send('counter', { type: 'inc' })");
    expect(await evaluate("get_status('counter')")).toMatchObject({ ok: true, value: { status: 'suspended', statistics: { mailboxLength: 1 } } });
    await evaluate("resume('counter')");
    expect(await evaluate("get_state('counter')")).toMatchObject({ ok: true, value: { context: { n: 1 } } });
  });

  it.each([
    ['get_state("nobody")', 'NOPROC'],
    ['get_state(42)', 'BAD_REF'],
    ["send('counter', 'not an event')", 'event is an object'],
    ["send('counter', { type: 'x' }", 'error'],
    ['throw new Error("hostile")', 'hostile'],
    ['process.exit(1)', 'process is not defined'],
    ['while(true){}', 'timed out'],
    ["get_state('Billing/\\u0000')", 'control characters'],
    ["replace_state('counter', 5)", 'STATE_CHANGE_INVALID'],
  ])('bad input %s gives a one-line error, never a crash', async (line, expected) => {
    const { evaluate } = system();
    const result = await evaluate(line);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain(expected);
      expect(result.error).not.toContain('\n    at ');
    }
  });

  it('replace_state applies a JSON Patch and a state value, checked before anything changes', async () => {
    const { evaluate } = system();
    await evaluate("send('counter', { type: 'inc' })");
    const patched = await evaluate("replace_state('counter', { patch: [{ op: 'test', path: '/n', value: 1 }, { op: 'replace', path: '/n', value: 41 }] })");
    expect(patched).toEqual({ ok: true, value: { value: 'idle', context: { n: 41 } } });
    expect(await evaluate("replace_state('counter', { value: 'idle' })")).toMatchObject({ ok: true, value: { value: 'idle' } });
    for (const [line, code] of [
      ["replace_state('counter', { patch: [{ op: 'replace', path: '/n', value: 0 }, { op: 'test', path: '/n', value: 5 }] })", 'PATCH_TEST_FAILED'],
      ["replace_state('counter', { patch: [{ op: 'remove', path: '/missing' }] })", 'PATCH_PATH_NOT_FOUND'],
      ["replace_state('counter', { patch: [{ op: 'add', path: '/__proto__/polluted', value: 1 }] })", 'PATCH_FORBIDDEN_PATH'],
      ["replace_state('counter', { value: 'nowhere' })", 'STATE_VALUE_UNKNOWN'],
    ] as const) {
      const result = await evaluate(line);
      expect(result.ok ? 'accepted' : result.error, line).toContain(code);
    }
    expect(await evaluate("call('counter', { type: 'get' })")).toEqual({ ok: true, value: 41 });
  });

  it.each([
    // The escape that read the node's environment when replace_state ran functions node-side.
    ["replace_state('counter', function () { return { context: this.constructor.constructor('return process')().env } })"],
    ["replace_state('counter', (s) => ({ context: { ...s.context, n: 99 } }))"],
    ['replace_state(\'counter\', "(s) => ({ value: s.value })")'],
  ])('replace_state refuses code, saying to send a JSON Patch: %s', async (line) => {
    const { evaluate } = system();
    const result = await evaluate(line);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(/^error STATE_CHANGE_NOT_DATA: replace_state takes data, not code: send a JSON Patch/);
      expect(result.error).not.toContain('\n');
    }
    expect(await evaluate("call('counter', { type: 'get' })")).toEqual({ ok: true, value: 0 });
  });

  it('survives any line typed at it: a one-line error or a value, never a crash, and the node still answers', async () => {
    const { evaluate } = system();
    const fragment = fc.constantFrom(
      "get_state(", "send('counter', ", "call('counter', ", 'replace_state(', "restart_child('root', ", 'tree(', ')', '{', '}', '[', ']', "'", '"', '`',
      '__proto__', 'constructor', 'prototype', 'globalThis', 'this', 'import(', 'require(', 'new ', '=>', '...', ';', ',', '\\', '\u0000', '\ud800', '1e309', 'NaN',
    );
    const line = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.array(fc.oneof(fragment, fc.string({ maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join('')));
    await fc.assert(
      fc.asyncProperty(line, async (text) => {
        const result = await evaluate(text);
        if (!result.ok) {
          expect(typeof result.error).toBe('string');
          expect(result.error).not.toContain('\n    at ');
        }
      }),
      { numRuns: 300 },
    );
    // Nothing typed above changed or blocked the counter.
    expect(await evaluate("call('counter', { type: 'get' })")).toEqual({ ok: true, value: 0 });
  });

  it('the interactive REPL runs commands from its input and survives errors', async () => {
    const { node, root } = system();
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk) => (text += String(chunk)));
    const admin = new LocalAdmin(node, () => root as Pid);
    const done = startRepl(adminCommands(admin, () => {}), { input, output, historyFile: false, interactive: true });
    input.write("get_state('nobody')\n");
    input.write("call('counter', { type: 'get' })\n");
    input.end();
    await done;
    expect(text).toContain('error NOPROC');
    expect(text).toMatch(/\b0\b/);
    expect(show({ a: 1 })).toBe('{ a: 1 }');
  });
});

describe('application commands on the embedded marketplace', () => {
  function marketplace() {
    // Today: the node refuses an occurredAt more than an hour ahead of its clock, and enqueue
    // stamps events with the wall clock.
    const clock = new SimulatedClock(Date.now());
    const node = createNode({ name: 'embedded', clock });
    const market = startMarketplace(node, { pseudonymKey: 'a key of sixteen+ bytes' });
    const admin = new LocalAdmin(node, () => market.root, marketplaceOperations(market, () => clock.now()));
    return createEvaluator(adminCommands(admin, () => {}), { timeoutMs: 1_000 });
  }
  const subscribe = (customerId: string, extra = '') => `enqueue({ type: 'CustomerSubscribes', customerId: '${customerId}', sku: 'PRO-MONTHLY', tier: 'professional'${extra} })`;

  it('enqueue processes the event at once and audit_verify sees its receipt, one chain or all', async () => {
    const evaluate = marketplace();
    expect(await evaluate(subscribe('c1'))).toMatchObject({ ok: true, value: { status: 'completed' } });
    expect(await evaluate(subscribe('c2'))).toMatchObject({ ok: true, value: { status: 'completed' } });
    expect(await evaluate("audit_verify('c1')")).toMatchObject({ ok: true, value: { customerId: 'c1', ok: true, length: 1 } });
    expect(await evaluate('audit_verify()')).toEqual({ ok: true, value: { ok: true, chains: 2, receipts: 2, damaged: [] } });
  });

  it('enqueue refuses a bad event naming the field and the rule, as governor enqueue does', async () => {
    const evaluate = marketplace();
    const result = await evaluate(subscribe('c1', ", tier: 'platinum'"));
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.error).toMatch(/^error EVENT_REJECTED: .*\$\.tier: .*\(enum\)/);
    expect(await evaluate("audit_verify('c1')")).toEqual({ ok: true, value: { customerId: 'c1', ok: true, length: 0, found: false } });
  });

  it("send and call refuse what the Orchestrator does not take (the old README's bare event, an invalid tier), naming why; nothing reaches it", async () => {
    const evaluate = marketplace();
    const bare = await evaluate("send('Orchestrator/c1', { type: 'CustomerSubscribes', eventId: 'e1', customerId: 'c1', occurredAt: '2025-01-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'professional' })");
    expect(bare).toMatchObject({ ok: false });
    if (!bare.ok) expect(bare.error).toMatch(/^error INVALID_MESSAGE: Orchestrator\/c1 refuses the message, nothing was sent: Orchestrator takes lifecycle events wrapped/);
    const tier = await evaluate("call('Orchestrator/c1', { type: 'lifecycle', event: { type: 'CustomerSubscribes', eventId: 'e1', customerId: 'c1', occurredAt: '2025-01-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'Professional' } })");
    expect(tier).toMatchObject({ ok: false });
    if (!tier.ok) expect(tier.error).toMatch(/INVALID_MESSAGE: .*\$\.event\.tier: must be one of .* \(enum\), got "Professional"/);
    expect(await evaluate("audit_verify('c1')")).toEqual({ ok: true, value: { customerId: 'c1', ok: true, length: 0, found: false } });
    // A valid message is still taken.
    const valid = await evaluate("call('Orchestrator/c1', { type: 'lifecycle', event: { type: 'CustomerSubscribes', eventId: 'e2', customerId: 'c1', occurredAt: '2025-01-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'professional' } })");
    expect(valid).toMatchObject({ ok: true, value: { status: 'completed' } });
  });

  it('queues, dlq and dlq_replay say the embedded node has no queues', async () => {
    const evaluate = marketplace();
    for (const line of ['queues()', 'dlq()', "dlq_replay('p.0~x')"]) {
      const result = await evaluate(line);
      expect(result.ok ? '' : result.error).toContain('ADMIN_UNAVAILABLE');
    }
  });

  it('a bare node without an application refuses them the same way', async () => {
    const { evaluate } = system();
    expect(await evaluate("enqueue({ type: 'x' })")).toMatchObject({ ok: false, error: expect.stringContaining('ADMIN_UNAVAILABLE') });
  });
});
