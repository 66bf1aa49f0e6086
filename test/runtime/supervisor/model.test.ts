import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deleteChild,
  restartChild,
  startChild,
  startSupervisor,
  terminateChild,
  whichChildren,
  type ExitReason,
  type Node,
  type Pid,
  type RestartType,
  type SimulatedClock,
  type SupervisorResult,
} from '../../../src/index.ts';
import { harness, w } from './helpers.ts';

// ── the reference model: OTP's supervisor, as plain data and pure-ish steps ────────────────────

type StaticStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
type Ending = 'normal' | 'shutdown' | 'error' | 'kill';

interface ModelChild {
  readonly id: string;
  readonly restart: RestartType;
  running: boolean;
  /** Bumped whenever the model expects the child to get a new pid. */
  incarnation: number;
}

interface Model {
  readonly strategy: StaticStrategy;
  readonly intensity: number;
  readonly periodMs: number;
  now: number;
  /** Times of the restarts still inside the period. */
  restarts: number[];
  children: ModelChild[];
  alive: boolean;
  incarnations: number;
}

type Tag = 'ok' | 'running' | 'not_found' | 'already_started' | 'already_present';

function find(model: Model, id: string): ModelChild | undefined {
  return model.children.find((c) => c.id === id);
}

function launch(model: Model, child: ModelChild): void {
  child.running = true;
  child.incarnation = ++model.incarnations;
}

function remove(model: Model, child: ModelChild): void {
  model.children = model.children.filter((c) => c !== child);
}

function modelStartChild(model: Model, id: string, restart: RestartType): Tag {
  const existing = find(model, id);
  if (existing) return existing.running ? 'already_started' : 'already_present';
  const child: ModelChild = { id, restart, running: false, incarnation: 0 };
  model.children.push(child);
  launch(model, child);
  return 'ok';
}

function modelTerminateChild(model: Model, id: string): Tag {
  const child = find(model, id);
  if (!child) return 'not_found';
  child.running = false;
  if (child.restart === 'temporary') remove(model, child);
  return 'ok';
}

function modelRestartChild(model: Model, id: string): Tag {
  const child = find(model, id);
  if (!child) return 'not_found';
  if (child.running) return 'running';
  launch(model, child);
  return 'ok';
}

function modelDeleteChild(model: Model, id: string): Tag {
  const child = find(model, id);
  if (!child) return 'not_found';
  if (child.running) return 'running';
  remove(model, child);
  return 'ok';
}

/**
 * A running child ended by itself. Returns the ids the supervisor then shuts down, in order
 * (the supervisor's own exit is implied by `model.alive` turning false).
 */
function modelChildExited(model: Model, child: ModelChild, ending: Ending): string[] {
  child.running = false;
  const clean = ending === 'normal' || ending === 'shutdown';
  if (child.restart === 'temporary') {
    remove(model, child);
    return [];
  }
  if (child.restart === 'transient' && clean) return [];

  // OTP keeps restarts no older than the period in whole seconds (`R >= Now - Period`); in
  // milliseconds the runtime keeps those strictly younger than it. The boundary is rarely hit here.
  model.restarts = [...model.restarts.filter((at) => model.now - at < model.periodMs), model.now];
  if (model.restarts.length > model.intensity) {
    const stopped = model.children.filter((c) => c.running).reverse();
    model.alive = false;
    model.children = [];
    return stopped.map((c) => c.id);
  }
  const index = model.children.indexOf(child);
  const affected =
    model.strategy === 'one_for_all' ? [...model.children] : model.strategy === 'rest_for_one' ? model.children.slice(index) : [child];
  const stopped: string[] = [];
  for (const sibling of [...affected].reverse()) {
    if (sibling === child) continue;
    if (sibling.running) stopped.push(sibling.id);
    sibling.running = false;
    if (sibling.restart === 'temporary') remove(model, sibling);
  }
  for (const next of affected) if (model.children.includes(next)) launch(model, next);
  return stopped;
}

// ── the real system, and the comparison ────────────────────────────────────────────────────────

interface Real {
  readonly node: Node;
  readonly clock: SimulatedClock;
  readonly sup: Pid;
  readonly exits: { pid: Pid; reason: ExitReason }[];
  /** What the last comparison saw: each child's pid and the model incarnation it stood for. */
  seen: Map<string, { pid: Pid | undefined; incarnation: number }>;
}

function tagOf(result: SupervisorResult<unknown>): Tag {
  return result.ok ? 'ok' : (result.error as Tag);
}

/** Every observable: alive or not, the children in order and running or not, pids kept or changed, no leaks. */
async function compare(model: Model, real: Real): Promise<void> {
  const { node, sup } = real;
  expect(node.isAlive(sup), 'supervisor alive').toBe(model.alive);
  if (!model.alive) {
    for (const { pid } of real.seen.values()) if (pid) expect(node.isAlive(pid), `${pid} outlived its supervisor`).toBe(false);
    expect(node.stats.processes, 'processes left').toBe(0);
    real.seen = new Map();
    return;
  }
  const rows = await whichChildren(node, sup);
  expect(
    rows.map((r) => `${r.id}:${r.pid === undefined ? 'stopped' : r.pid === 'restarting' ? 'restarting' : 'running'}`),
    'children',
  ).toEqual(model.children.map((c) => `${c.id}:${c.running ? 'running' : 'stopped'}`));

  const seen = new Map<string, { pid: Pid | undefined; incarnation: number }>();
  for (const [i, child] of model.children.entries()) {
    const pid = rows[i]!.pid as Pid | undefined;
    const before = real.seen.get(child.id);
    if (child.running) {
      expect(node.isAlive(pid!), `${child.id} alive`).toBe(true);
      if (before?.incarnation === child.incarnation) expect(pid, `${child.id} kept its pid`).toBe(before.pid);
      else expect(pid, `${child.id} got a new pid`).not.toBe(before?.pid);
    }
    if (before?.pid && before.pid !== pid) expect(node.isAlive(before.pid), `old ${child.id} is gone`).toBe(false);
    seen.set(child.id, { pid, incarnation: child.incarnation });
  }
  for (const [id, { pid }] of real.seen) {
    if (!seen.has(id) && pid) expect(node.isAlive(pid), `removed ${id} is gone`).toBe(false);
  }
  real.seen = seen;
  expect(node.stats.processes, 'no leaked processes').toBe(1 + model.children.filter((c) => c.running).length);
}

// ── commands ───────────────────────────────────────────────────────────────────────────────────

type Cmd = fc.AsyncCommand<Model, Real>;

class StartChild implements Cmd {
  constructor(
    readonly id: string,
    readonly restart: RestartType,
  ) {}
  check = (m: Readonly<Model>) => m.alive;
  async run(m: Model, r: Real) {
    const expected = modelStartChild(m, this.id, this.restart);
    expect(tagOf(await startChild(r.node, r.sup, w(this.id, { restart: this.restart }))), this.toString()).toBe(expected);
    await r.node.settle();
    await compare(m, r);
  }
  toString = () => `start_child(${this.id}, ${this.restart})`;
}

class ChildEnds implements Cmd {
  constructor(
    readonly pick: number,
    readonly ending: Ending,
  ) {}
  check = (m: Readonly<Model>) => m.alive && m.children.some((c) => c.running);
  async run(m: Model, r: Real) {
    const running = m.children.filter((c) => c.running);
    const child = running[this.pick % running.length]!;
    const pid = r.seen.get(child.id)!.pid!;
    const pidsBefore = new Map([...r.seen].map(([id, s]) => [id, s.pid]));
    const stopped = modelChildExited(m, child, this.ending);

    const from = r.exits.length;
    if (this.ending === 'error') r.node.cast(pid, { type: 'crash' });
    else if (this.ending === 'kill') r.node.exit(pid, 'kill');
    else r.node.cast(pid, { type: 'stop', reason: this.ending });
    await r.node.settle();

    // The exits, in order: the child, the siblings the supervisor shut down, maybe the supervisor.
    const expected = [pid, ...stopped.map((id) => pidsBefore.get(id)!), ...(m.alive ? [] : [r.sup])];
    expect(r.exits.slice(from).map((e) => e.pid), `exits after ${this.toString()}`).toEqual(expected);
    for (const e of r.exits.slice(from + 1)) expect(e.reason).toBe('shutdown');
    await compare(m, r);
  }
  toString = () => `child #${this.pick} ends: ${this.ending}`;
}

class TerminateChild implements Cmd {
  constructor(readonly id: string) {}
  check = (m: Readonly<Model>) => m.alive;
  async run(m: Model, r: Real) {
    const expected = modelTerminateChild(m, this.id);
    expect(tagOf(await terminateChild(r.node, r.sup, this.id)), this.toString()).toBe(expected);
    await r.node.settle();
    await compare(m, r);
  }
  toString = () => `terminate_child(${this.id})`;
}

class RestartChild implements Cmd {
  constructor(readonly id: string) {}
  check = (m: Readonly<Model>) => m.alive;
  async run(m: Model, r: Real) {
    const expected = modelRestartChild(m, this.id);
    expect(tagOf(await restartChild(r.node, r.sup, this.id)), this.toString()).toBe(expected);
    await r.node.settle();
    await compare(m, r);
  }
  toString = () => `restart_child(${this.id})`;
}

class DeleteChild implements Cmd {
  constructor(readonly id: string) {}
  check = (m: Readonly<Model>) => m.alive;
  async run(m: Model, r: Real) {
    const expected = modelDeleteChild(m, this.id);
    expect(tagOf(await deleteChild(r.node, r.sup, this.id)), this.toString()).toBe(expected);
    await r.node.settle();
    await compare(m, r);
  }
  toString = () => `delete_child(${this.id})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.advance(this.ms);
    await r.node.settle();
    await compare(m, r);
  }
  toString = () => `advance(${this.ms})`;
}

// ── the property ───────────────────────────────────────────────────────────────────────────────

const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const restartType = fc.constantFrom<RestartType>('permanent', 'transient', 'temporary');

const commands = fc.commands(
  [
    fc.tuple(ids, restartType).map(([id, restart]) => new StartChild(id, restart)),
    fc.tuple(fc.nat(9), fc.constantFrom<Ending>('normal', 'shutdown', 'error', 'kill')).map(([pick, ending]) => new ChildEnds(pick, ending)),
    fc.tuple(fc.nat(9), fc.constantFrom<Ending>('error', 'kill')).map(([pick, ending]) => new ChildEnds(pick, ending)),
    ids.map((id) => new TerminateChild(id)),
    ids.map((id) => new RestartChild(id)),
    ids.map((id) => new DeleteChild(id)),
    fc.constantFrom(0, 400, 1_000, 2_500, 5_000, 12_000).map((ms) => new Advance(ms)),
  ],
  { maxCommands: 60, size: 'max' },
);

const config = fc.record({
  strategy: fc.constantFrom<StaticStrategy>('one_for_one', 'one_for_all', 'rest_for_one'),
  intensity: fc.constantFrom(0, 1, 2, 3, 5, 8),
  period: fc.integer({ min: 1, max: 5 }),
  children: fc.uniqueArray(fc.record({ id: ids, restart: restartType }), { selector: (c) => c.id, maxLength: 4 }),
});

describe('supervisor against a reference model of OTP’s supervisor', () => {
  it('matches on every observable after every command', async () => {
    await fc.assert(
      fc.asyncProperty(config, commands, async (cfg, cmds) => {
        const setup = async () => {
          const { node, clock, exits } = harness();
          const sup = startSupervisor(node, {
            strategy: cfg.strategy,
            intensity: cfg.intensity,
            period: cfg.period,
            children: cfg.children.map((c) => w(c.id, { restart: c.restart })),
          });
          const model: Model = {
            strategy: cfg.strategy,
            intensity: cfg.intensity,
            periodMs: cfg.period * 1_000,
            now: 0,
            restarts: [],
            children: [],
            alive: true,
            incarnations: 0,
          };
          for (const c of cfg.children) modelStartChild(model, c.id, c.restart);
          const real: Real = { node, clock, sup, exits, seen: new Map() };
          await compare(model, real);
          return { model, real };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 100 },
    );
  });
});
