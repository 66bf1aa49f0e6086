/**
 * A line reads into a command's result as if it were already there: the REPL awaits what the line
 * evaluates to, and a command's promise passes property reads and method calls through.
 */
import { describe, expect, it } from 'vitest';
import { createEvaluator, type Command } from '../../src/cli/repl.ts';
import { governor } from './governor-command.ts';

const commands: Record<string, Command> = {
  get_state: { usage: '', help: '', run: async (ref: string) => ({ value: 'Active', context: { data: { ref, items: [1, 2, 3] } } }) },
  nodes: { usage: '', help: '', run: async () => [{ name: 'n1' }, { name: 'n2' }] },
  fails: { usage: '', help: '', run: () => Promise.reject(new Error('nope')) },
};

describe('the REPL evaluator', () => {
  const evaluate = createEvaluator(commands);

  it('reads properties of a pending result', async () => {
    expect(await evaluate("get_state('Billing/c1').context.data.ref")).toEqual({ ok: true, value: 'Billing/c1' });
    expect(await evaluate("get_state('x').context.data.items.length")).toEqual({ ok: true, value: 3 });
  });

  it('calls methods of a pending result, and .then still works', async () => {
    expect(await evaluate('nodes().map((n) => n.name).join(" ")')).toEqual({ ok: true, value: 'n1 n2' });
    expect(await evaluate('nodes().then((ns) => ns.length)')).toEqual({ ok: true, value: 2 });
  });

  it('settles the pending results a line puts in an array or an object', async () => {
    expect(await evaluate("[get_state('a').value, get_state('b').context.data.ref]")).toEqual({ ok: true, value: ['Active', 'b'] });
    expect(await evaluate("({ billing: get_state('Billing/c1').context.data.ref, names: [nodes().length] })")).toEqual({ ok: true, value: { billing: 'Billing/c1', names: [2] } });
    // A failure inside one is the line's error, as it is alone.
    expect(await evaluate("[get_state('a').value, fails()]")).toMatchObject({ ok: false, error: 'error: nope' });
  });

  it('reports a failed command, or a read past undefined, as one error line', async () => {
    expect(await evaluate('fails().anything')).toMatchObject({ ok: false, error: 'error: nope' });
    expect(await evaluate("get_state('x').context.missing.deeper")).toMatchObject({ ok: false, error: 'error: cannot read deeper of undefined' });
  });

  it('survives a failed command nobody awaits', async () => {
    expect(await evaluate('const kept = fails()')).toEqual({ ok: true, value: undefined });
    expect(await evaluate('kept.x')).toMatchObject({ ok: false, error: 'error: nope' });
  });
});

describe('the embedded REPL', () => {
  it("reads into a customer's state: get_state(...).context.data", () => {
    const script = [
      "enqueue({ type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' }).status",
      "get_state('Billing/c1').context.data.plan.sku",
      "state('Billing', 'c1').resident",
    ].join('\n');
    const run = governor(['start', '--embedded'], { input: `${script}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\.status\ncompleted\n/);
    expect(run.stdout).toMatch(/\.plan\.sku\nPRO-MONTHLY\n/);
    expect(run.stdout).toMatch(/\.resident\nembedded\n/);
  });
});
