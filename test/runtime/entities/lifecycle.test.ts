/**
 * How an entity comes into memory and what its host tells around it: its input when fresh, its
 * stored state brought to the current layout (`migrate`) when restored, observers told of every
 * start and step (an observer's failure never being the entity's), and the supervision it runs
 * under (the kind's intensity, the `entities` supervisor's link).
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply, spawnStatem, type EntityAddress, type EntityHostOptions, type EntityKind, type PersistedActorState } from '../../../src/index.ts';

const account = setup({ types: {} as { context: { key: string; n: number; plan?: string }; input: { key: string; plan?: string } } }).createMachine({
  id: 'account',
  context: ({ input }) => ({ key: input.key, n: 0, ...(input.plan !== undefined && { plan: input.plan }) }),
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: reply(({ context }) => context) },
    crash: {
      actions: () => {
        throw new Error('boom');
      },
    },
  },
});

const c1: EntityAddress = { entity: 'Account', key: 'c1' };

function world(kind: Partial<EntityKind> = {}, options: EntityHostOptions = {}) {
  const logged: { fields: Record<string, unknown>; message: string }[] = [];
  const logger = { error: (fields: Record<string, unknown>, message: string) => logged.push({ fields, message }), warn: () => {}, info: () => {}, debug: () => {} };
  const node = createNode({ clock: new SimulatedClock(), logger: logger as never });
  const store = new MemoryStore();
  const host = new EntityHost(node, [{ kind: 'Account', machine: account, ...kind }], {
    restore: (a) => store.get(a)?.state,
    commit: (a, persist) => store.set(a, persist()),
    ...options,
  });
  return { node, store, host, logged };
}

describe('a fresh entity', () => {
  it('starts from { key } by default', async () => {
    const { node } = world();
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 0 });
  });

  it('starts from its kind’s input for its key', async () => {
    const { node } = world({ input: (key) => ({ key: `${key}!`, plan: 'pro' }) });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1!', n: 0, plan: 'pro' });
  });
});

describe('a restored entity', () => {
  /** c1's committed state after two `inc`s, as a store holds it, and that store. */
  function stored(): { store: MemoryStore; state: PersistedActorState } {
    const { node, store, host } = world();
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'inc' });
    host.passivate(c1);
    return { store, state: store.get(c1)!.state };
  }

  it('starts from its stored state, not its input', async () => {
    const { state } = stored();
    const { node } = world({ input: () => ({ key: 'from input' }) }, { restore: () => state });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2 });
  });

  it('starts from what migrate makes of it, the journal entries and records it moved out committed with its next step', async () => {
    const { state } = stored();
    const commits: PersistedActorState[] = [];
    const migrated: PersistedActorState[] = [];
    const { node } = world(
      {
        migrate: (old) => {
          migrated.push(old);
          const snapshot = old.snapshot as { context: Record<string, unknown> };
          // The entries moved out are counted in the migrated state's journalLength already.
          const state = { ...old, journalLength: (old.journalLength ?? 0) + 1, snapshot: { ...snapshot, context: { ...snapshot.context, plan: 'legacy' } } };
          return { state, journal: ['moved out'], records: { r: 1 } };
        },
      },
      { restore: () => state, commit: (_a, persist) => void commits.push(persist()) },
    );
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2, plan: 'legacy' });
    expect(migrated).toEqual([state]);
    expect(commits[0]).toMatchObject({ journal: ['moved out'], journalLength: 1, records: { r: 1 } });
  });

  it('starts from its stored state as it is when migrate says it needs none', async () => {
    const { state } = stored();
    const commits: PersistedActorState[] = [];
    const { node } = world({ migrate: () => undefined }, { restore: () => state, commit: (_a, persist) => void commits.push(persist()) });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2 });
    expect(commits[0]?.journal).toBeUndefined();
    expect(commits[0]?.records).toBeUndefined();
  });

  it('is not migrated when fresh', async () => {
    let migrations = 0;
    const { node } = world({ migrate: () => (migrations++, undefined) });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 0 });
    expect(migrations).toBe(0);
  });
});

describe('an entity host’s observer', () => {
  it('is told of each start, with the state restored (none when fresh), and of each step, with the state it would commit', async () => {
    const seen: unknown[] = [];
    const { node, host } = world(
      {},
      {
        observe: {
          started: (address, restored) => seen.push(['started', address, restored === undefined ? 'fresh' : (restored.snapshot as { context: unknown }).context]),
          stepped: (address, persist) => seen.push(['stepped', address, (persist().snapshot as { context: unknown }).context]),
        },
      },
    );
    node.cast(c1, { type: 'inc' });
    host.passivate(c1);
    node.cast(c1, { type: 'inc' });
    expect(seen).toEqual([
      ['started', c1, 'fresh'],
      ['stepped', c1, { key: 'c1', n: 1 }],
      ['started', c1, { key: 'c1', n: 1 }],
      ['stepped', c1, { key: 'c1', n: 2 }],
    ]);
  });

  it('that throws is logged, and the entity carries on: its steps are committed, it is not restarted', async () => {
    const { node, host, store, logged } = world(
      {},
      {
        observe: {
          started: () => {
            throw new Error('started failed');
          },
          stepped: () => {
            throw new Error('stepped failed');
          },
        },
      },
    );
    node.cast(c1, { type: 'inc' });
    const pid = host.pidOf(c1);
    node.cast(c1, { type: 'inc' });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2 });
    expect(host.pidOf(c1)).toBe(pid);
    expect((store.get(c1)!.state.snapshot as { context: { n: number } }).context.n).toBe(2);
    expect(logged.filter((l) => l.message === 'entity observer failed').map((l) => (l.fields.err as Error).message)).toEqual([
      'started failed',
      'stepped failed',
      'stepped failed',
      'stepped failed',
    ]);
  });

  it('with only a started hook is told of starts, and nothing fails at each step', async () => {
    const started: EntityAddress[] = [];
    const { node, logged } = world({}, { observe: { started: (address) => void started.push(address) } });
    node.cast(c1, { type: 'inc' });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 1 });
    expect(started).toEqual([c1]);
    expect(logged).toEqual([]);
  });

  it('with only a stepped hook watches without committing (no commit given)', async () => {
    const steps: number[] = [];
    const node = createNode({ clock: new SimulatedClock() });
    new EntityHost(node, [{ kind: 'Account', machine: account }], {
      observe: { stepped: (_a, persist) => void steps.push((persist().snapshot as { context: { n: number } }).context.n) },
    });
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'inc' });
    expect(steps).toEqual([1, 2]);
  });
});

describe('the supervision of entities', () => {
  it('gives up on a kind after more crashes than its intensity within its period, and the kind starts afresh', async () => {
    const clock = new SimulatedClock();
    const node = createNode({ clock });
    new EntityHost(node, [{ kind: 'Account', machine: account }], { intensity: 1, period: 60 });
    const kind = () => node.whereis('entities:Account');
    const before = kind();
    node.cast(c1, { type: 'crash' }); // one restart: within the intensity
    expect(kind()).toBe(before);
    clock.advance(30_000);
    node.cast(c1, { type: 'crash' }); // a second within the 60 s: the kind's supervisor gives up
    await node.settle();
    expect(kind()).toBeDefined();
    expect(kind()).not.toBe(before);
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 0 });
  });

  it('takes a storm of crashes across a kind by default (100 within 5 s)', async () => {
    const { node } = world();
    const before = node.whereis('entities:Account');
    for (let i = 0; i < 100; i++) node.cast({ entity: 'Account', key: `k${i}` }, { type: 'crash' });
    await node.settle();
    expect(node.whereis('entities:Account')).toBe(before);
    node.cast(c1, { type: 'crash' });
    await node.settle();
    expect(node.whereis('entities:Account')).not.toBe(before);
  });

  it('ends with the parent the entities supervisor is linked to, and only then', async () => {
    for (const linked of [true, false]) {
      const node = createNode({ clock: new SimulatedClock() });
      const parent = spawnStatem(node, account, { input: { key: 'root' } });
      const host = new EntityHost(node, [{ kind: 'Account', machine: account }], linked ? { link: parent } : {});
      expect(node.whereis('entities')).toBe(host.supervisor);
      node.cast(c1, { type: 'inc' });
      node.exit(parent, 'kill');
      await node.settle();
      expect(node.isAlive(host.supervisor)).toBe(!linked);
      expect(host.pidOf(c1) !== undefined).toBe(!linked);
    }
  });
});
