/**
 * The fleet of the lifecycle benchmarks (`lifecycle.ts`, `noisy.ts`): node processes
 * (`lifecycle-node.ts`) that report each event their orchestrators finish, and the tracker that
 * matches those reports with the sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';
import { messageIdOf } from '../src/cli/enqueue/producer.ts';
import type { OutboundMessage } from '../src/transport/bullmq/index.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import type { StepCounts } from './step-counts.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export type Send = (batch: OutboundMessage[]) => Promise<unknown>;

/** What the node processes report: which customer's how-many-th event finished, and when. */
export class Tracker {
  readonly #sentAt = new Map<string, number[]>();
  finished = 0;
  /** Orchestrator state timeouts: each one is an event that waited seconds for nothing. */
  timeouts = 0;
  last = 0;
  /** This phase's finished events: when each was sent and how long it took to finish. */
  samples: { sentAt: number; ms: number }[] = [];
  /** This phase's latencies by customer. */
  byCustomer = new Map<string, number[]>();
  #target = 0;
  #onDone: (() => void) | undefined;

  readonly #eventIds = new Set<string>();

  /** Notes an event sent; true when its eventId was sent before (this send is a producer's retry). */
  sent(event: LifecycleEvent, at: number): boolean {
    let times = this.#sentAt.get(event.customerId);
    if (!times) this.#sentAt.set(event.customerId, (times = []));
    times.push(at);
    const again = this.#eventIds.has(event.eventId);
    this.#eventIds.add(event.eventId);
    return again;
  }

  done(customer: string, n: number, at: number): void {
    const sentAt = this.#sentAt.get(customer)?.[n - 1];
    if (sentAt === undefined) throw new Error(`a node finished event ${n} of ${customer}, which was never sent`);
    this.samples.push({ sentAt, ms: at - sentAt });
    let mine = this.byCustomer.get(customer);
    if (!mine) this.byCustomer.set(customer, (mine = []));
    mine.push(at - sentAt);
    this.finished++;
    this.last = at;
    if (this.finished === this.#target) this.#onDone?.();
  }

  /** How many events the current phase waits for. */
  get target(): number {
    return this.#target;
  }

  /** Resolves when `count` more events have finished from now on (`Infinity`: until {@link settle} says how many). */
  next(count: number): Promise<void> {
    this.finished = 0;
    this.samples = [];
    this.byCustomer = new Map();
    this.#target = count;
    return new Promise((resolve) => (this.#onDone = resolve));
  }

  /** Sets how many events the current phase waits for, once they are known (some may have finished already). */
  settle(count: number): void {
    this.#target = count;
    if (this.finished >= count) this.#onDone?.();
  }
}

export interface NodeProcess {
  readonly child: ChildProcess;
  owned: number;
  /** The node's transitions and messages so far, as it last reported them (`step-counts.ts`). */
  steps: StepCounts;
  stop(): Promise<void>;
}

/** Starts a `lifecycle-node.ts` process and resolves when it is ready. */
export async function startNode(env: Record<string, string>, tracker: Tracker): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...(process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : []), ...(process.env['BENCH_NODE_ARGS'] ? process.env['BENCH_NODE_ARGS'].split(' ') : []), '--import', 'tsx', 'bench/lifecycle-node.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const node: NodeProcess = {
    child,
    owned: 0,
    steps: { transitions: 0, messages: 0 },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node ${env['NODE_NAME']} exited (${code}) before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [what, a, b, c] = line.split(' ');
        if (what === 'done') tracker.done(a!, Number(b), Number(c));
        else if (what === 'timeout') tracker.timeouts++;
        else if (what === 'owned') node.owned = Number(a);
        else if (what === 'steps') node.steps = { transitions: Number(a), messages: Number(b) };
        else if (what === 'ready') resolve();
      }
    });
  });
  return node;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`benchmark: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The events as the transport's messages (what `governor enqueue` sends). A duplicate is a
 * producer's retry under its own message id, so it reaches the orchestrator: under the original's
 * id the transport would drop it as a redelivery, and the node would never report it.
 */
export function messages(events: readonly LifecycleEvent[], tracker: Tracker): OutboundMessage[] {
  const receivedAt = Date.now();
  return events.map((event) => {
    const id = tracker.sent(event, Date.now()) ? `${messageIdOf(event)}.retry` : messageIdOf(event);
    return { to: { entity: 'Orchestrator', key: event.customerId }, event: { type: 'lifecycle', event, receivedAt }, id };
  });
}

/**
 * Every customer subscribes, untimed: their entities are created. Awaited to the last event, the
 * duplicates included, so none of them finishes inside the timed phase.
 */
export async function warmUp(run: string, customers: number, tracker: Tracker, send: Send): Promise<void> {
  const events = lifecycleRounds(run, customers, 0, 1);
  const done = tracker.next(events.length);
  await send(messages(events, tracker));
  await done;
}
