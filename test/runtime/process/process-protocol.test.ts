import { describe, expect, it } from 'vitest';
import { createNode, SimulatedClock, type Envelope, type ExitReason, type Node, type Pid } from '../../../src/index.ts';
import { Process } from '../../../src/runtime/process.ts';
import { watch } from '../statem/helpers.ts';

// The node's side of the process protocol, seen through a behaviour of one's own (as a gen_statem
// actor or a supervisor is one): what it does when a step is asynchronous, fails, or when the
// behaviour's cleanup throws.

type Step = (envelope: Envelope) => void | Promise<void>;

/** A bare behaviour: each message runs `step`; `cleanup` may throw. */
class Bare extends Process {
  readonly kind = 'bare';
  readonly handled: unknown[] = [];
  constructor(
    pid: Pid,
    node: Node,
    readonly step: Step,
    readonly failCleanup: Error | undefined,
  ) {
    super(pid, node);
  }
  handle(envelope: Envelope): void | Promise<void> {
    this.handled.push('event' in envelope ? (envelope.event as { type: string }).type : envelope.t);
    return this.step(envelope);
  }
  cleanup(_reason: ExitReason): void {
    if (this.failCleanup) throw this.failCleanup;
  }
  getState(): unknown {
    return undefined;
  }
  stateValue(): unknown {
    return 'bare';
  }
}

function spawnBare(node: Node, step: Step = () => {}, options: { name?: string; failCleanup?: Error } = {}): Bare {
  return node._spawnProcess((pid) => new Bare(pid, node, step, options.failCleanup), { name: options.name });
}

/** A promise settled by hand: the step stays pending until the test says so. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('a process whose step is asynchronous', () => {
  it('handles the mail that came meanwhile once the step settles, in order', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const first = deferred();
    const bare = spawnBare(node, (envelope) => ('event' in envelope && (envelope.event as { type: string }).type === 'slow' ? first.promise : undefined));
    node.cast(bare.pid, { type: 'slow' });
    node.cast(bare.pid, { type: 'a' });
    node.cast(bare.pid, { type: 'b' });
    expect(bare.handled).toEqual(['slow']);
    first.resolve();
    await node.settle();
    expect(bare.handled).toEqual(['slow', 'a', 'b']);
  });

  it('whose step rejects exits with the rejection as its reason', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const step = deferred();
    const bare = spawnBare(node, () => step.promise);
    const seen = watch(node, bare.pid);
    node.cast(bare.pid, { type: 'go' });
    const failure = new Error('async step failed');
    step.reject(failure);
    await node.settle();
    expect(node.isAlive(bare.pid)).toBe(false);
    expect(seen.reason).toBe(failure);
  });

  it('killed while its step is pending exits once: the step settling later changes nothing', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const step = deferred();
    const bare = spawnBare(node, () => step.promise);
    const exits: [Pid, ExitReason][] = [];
    node.onExit((pid, reason) => exits.push([pid, reason]));
    node.cast(bare.pid, { type: 'go' });
    node.exit(bare.pid, 'kill');
    step.reject(new Error('too late'));
    await node.settle();
    expect(exits).toEqual([[bare.pid, 'killed']]);
    expect(node.stats).toMatchObject({ processes: 0, exited: 1 });
  });
});

describe('a process whose cleanup throws', () => {
  it('still exits whole: out of the table, its name freed, its watchers told, and the failure logged', () => {
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = { error: (fields: Record<string, unknown>, message: string) => errors.push({ fields, message }), warn: () => {}, debug: () => {} };
    const node = createNode({ clock: new SimulatedClock(), logger: logger as never });
    const failure = new Error('cleanup broke');
    const bare = spawnBare(node, undefined, { name: 'bare', failCleanup: failure });
    const seen = watch(node, bare.pid);
    expect(() => node.exit(bare.pid, 'shutdown')).not.toThrow();
    expect(node.isAlive(bare.pid)).toBe(false);
    expect(node.whereis('bare')).toBeUndefined();
    expect(seen.reason).toBe('shutdown');
    expect(errors).toEqual([{ fields: { actor: bare.pid, err: failure }, message: 'cleanup failed while exiting' }]);
  });
});
