import { setup } from 'xstate';
import {
  createNode,
  SimulatedClock,
  spawnStatem,
  stop,
  whichChildren,
  worker,
  type ChildSpec,
  type ExitReason,
  type Node,
  type Pid,
  type RestartType,
  type Shutdown,
} from '../../../src/index.ts';

/**
 * A worker that runs until told otherwise: `crash` throws (an abnormal exit with the error as
 * reason), `stop` ends it with the reason it carries, `done` reaches a final state (`normal`).
 */
type WorkerEvent = { type: 'crash' } | { type: 'stop'; reason: ExitReason } | { type: 'done' };

export const workerMachine = setup({
  types: {
    events: {} as WorkerEvent,
    input: {} as unknown,
    context: {} as { input: unknown },
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ input }),
  initial: 'running',
  states: {
    running: {
      on: {
        crash: {
          actions: () => {
            throw new Error('boom');
          },
        },
        stop: { actions: stop(({ event }: { event: WorkerEvent }) => (event.type === 'stop' ? event.reason : 'normal')) },
        done: 'finished',
      },
    },
    finished: { type: 'final' },
  },
});

/** Traps exits and ignores every `EXIT`: only `kill` ends it. */
export const stubbornMachine = setup({
  types: { events: {} as { type: 'EXIT' } },
}).createMachine({
  id: 'stubborn',
  initial: 'running',
  states: { running: { on: { EXIT: {} } } },
});

export function w(id: string, options: { restart?: RestartType; shutdown?: Shutdown; significant?: boolean } = {}): ChildSpec {
  return worker(id, workerMachine, options);
}

/**
 * A child that traps exits without being a gen_statem child of the supervisor (no parent), so
 * the supervisor's `shutdown` signal is ignored and only its timeout's `kill` ends it.
 */
export function stubborn(id: string, shutdown: Shutdown, started: Pid[] = []): ChildSpec {
  return {
    id,
    shutdown,
    start: ({ node }) => {
      const pid = spawnStatem(node, stubbornMachine, { trapExit: true });
      started.push(pid);
      return pid;
    },
  };
}

export interface Harness {
  readonly clock: SimulatedClock;
  readonly node: Node;
  /** Every process exit on the node, in order. */
  readonly exits: { pid: Pid; reason: ExitReason }[];
  /** A process that traps exits, to be a supervisor's parent (so it can be shut down as OTP does). */
  parent(): Pid;
}

export function harness(options: { random?: () => number } = {}): Harness {
  const clock = new SimulatedClock();
  const node = createNode({ clock, ...options });
  const exits: { pid: Pid; reason: ExitReason }[] = [];
  node.onExit((pid, reason) => exits.push({ pid, reason }));
  return {
    clock,
    node,
    exits,
    parent: () => spawnStatem(node, stubbornMachine, { trapExit: true }),
  };
}

/** The pid (or `restarting` / `undefined`) of each child, by id. */
export async function pidsOf(node: Node, sup: Pid): Promise<Record<string, Pid | 'restarting' | undefined>> {
  const rows = await whichChildren(node, sup);
  return Object.fromEntries(rows.map((row) => [row.id, row.pid]));
}

/** The pid of a running child; fails the test if it is not running. */
export async function pidOf(node: Node, sup: Pid, id: string): Promise<Pid> {
  const pid = (await pidsOf(node, sup))[id];
  if (pid === undefined || pid === 'restarting') throw new Error(`child ${id} is not running (${String(pid)})`);
  return pid;
}

/** Crashes a worker (an action throws) and lets its supervisor finish reacting. */
export async function crash(node: Node, pid: Pid): Promise<void> {
  node.cast(pid, { type: 'crash' });
  await node.settle();
}

/** Ends a worker with `reason` (`stop(reason)` in the machine) and lets its supervisor react. */
export async function stopWith(node: Node, pid: Pid, reason: ExitReason): Promise<void> {
  node.cast(pid, { type: 'stop', reason });
  await node.settle();
}

/**
 * Lets promise continuations run without waiting for the node to settle: use while a supervisor
 * is blocked on a child's shutdown timer, which `settle()` would wait for forever.
 */
export async function tick(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves to the exit reason of `pid` once it exits. */
export function exitOf(node: Node, pid: Pid): { readonly reason: ExitReason | undefined; readonly exited: boolean } {
  const state: { reason: ExitReason | undefined; exited: boolean } = { reason: undefined, exited: false };
  node.monitor(pid, (down) => {
    state.exited = true;
    state.reason = down.reason;
  });
  return state;
}
