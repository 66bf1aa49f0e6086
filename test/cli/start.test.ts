import { describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';

describe('governor start --embedded (npm start: the embedded node, REPL on a pipe, whatever REDIS_URL says)', () => {
  const script = [
    "enqueue({ eventId: 'e-1', type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' })",
    "enqueue({ eventId: 'e-1', type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' })",
    "enqueue({ type: 'CustomerSubscribes', customerId: 'c1', __proto__: { x: 1 }, sku: 'x'.repeat(100000) })",
    "get_state('Subscription/c1')",
    "which_children('entities:Orchestrator').then((c) => c.length)",
    "terminate_child('entities', 'Billing')",
    "restart_child('entities', 'Billing')",
    "count_children('entities')",
    "audit_verify('c1')",
    'get_state(',
  ].join('\n');

  const run = governor(['start', '--embedded'], { input: `${script}\n` });

  it('runs every command in order and exits 0 when its input ends', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('the marketplace tree is running');
  });

  it('processes an event through the orchestrator and reports its repeat as a duplicate', () => {
    expect(run.stdout).toContain("status: 'completed'");
    expect(run.stdout).toMatch(/status: 'duplicate',\s+eventId: 'e-1',\s+original: \{\s*status: 'completed',\s*at: \d+,\s*subscriptionId: 'e-1'\s*\}/);
  });

  it('rejects a hostile event at the door with the reason, and goes on', () => {
    expect(run.stdout).toMatch(/error EVENT_REJECTED: the event was not accepted, nothing was enqueued: \$: the event is \d+ bytes of JSON; the limit is \d+ \(max_size\)\n/);
  });

  it('shows actor state and restarts a supervisor child on the live node', () => {
    expect(run.stdout).toContain("value: 'Trial'");
    expect(run.stdout).toMatch(/restart_child\('entities', 'Billing'\)\n\{ ok: true, pid: '<embedded\.\d+>' \}/);
    expect(run.stdout).toMatch(/count_children\('entities'\)\n\{ specs: 10, active: 10, supervisors: 10, workers: 0 \}/);
  });

  it('verifies the receipt chain and survives a syntax error', () => {
    expect(run.stdout).toMatch(/audit_verify\('c1'\)\n\{\n\s+customerId: 'c1',\n\s+ok: true/);
    expect(run.stdout).toMatch(/get_state\(\nerror: /);
  });
});

describe('governor start --embedded: trace shows replies going out', () => {
  it("trace(ref, 'on') prints a call coming in and its reply going out to the caller", () => {
    const script = [
      "enqueue({ eventId: 'e-1', type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' })",
      "trace('Receipts/c1', 'on')",
      "call('Receipts/c1', { type: 'verify' })",
    ].join('\n');
    const run = governor(['start', '--embedded'], { input: `${script}\n` });
    expect(run.code, run.stderr).toBe(0);
    const traced = run.stdout.split('\n').filter((line) => line.startsWith('[trace '));
    expect(traced[0]).toMatch(/^\[trace <embedded\.\d+>\] ← call \{"type":"verify"\}$/);
    expect(traced[1]).toMatch(/^\[trace <embedded\.\d+>\] → caller \S+@embedded reply \{"ok":true,"length":1,/);
  });
});
