/**
 * One conformance suite for every transport (SPEC §3): what actor code may rely on, whichever
 * transport carries its messages. A transport's test file runs it with a harness that starts
 * connected nodes; every expectation waits for asynchronous delivery, so the same test holds for a
 * transport that delivers at once (memory) and for one that goes through Redis (bullmq).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CallExitError,
  CallTimeoutError,
  spawnStatem,
  type EntityAddress,
  type EntityKind,
  type Node,
  type Pid,
} from '../../src/index.ts';
import { counter, recorder } from '../fixtures/machines.ts';

export interface ConformanceNode {
  readonly node: Node;
}

export interface ConformanceHarness {
  /** Starts `count` nodes on one transport, each hosting `kinds`. */
  start(count: number, kinds: readonly EntityKind[]): Promise<ConformanceNode[]>;
  /** Takes an entity out of memory with its state saved (hibernate); it comes back on its next message. */
  passivate(address: EntityAddress): Promise<void>;
  stop(): Promise<void>;
}

const KINDS: readonly EntityKind[] = [
  { kind: 'Counter', machine: counter },
  { kind: 'Recorder', machine: recorder },
];

type Recorded = { seen: number[]; exits: { from: string; reason: unknown }[]; downs: { reason: unknown }[] };

/** Polls `check` until it stops throwing (or `timeoutMs` passes, then throws its last error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export function transportConformance(name: string, makeHarness: () => ConformanceHarness): void {
  describe(`transport conformance: ${name}`, () => {
    let harness: ConformanceHarness;
    let a: Node;
    let b: Node;

    beforeEach(async () => {
      harness = makeHarness();
      const nodes = await harness.start(2, KINDS);
      a = nodes[0]!.node;
      b = nodes[1]!.node;
    });

    afterEach(async () => {
      await harness.stop();
    });

    describe('send, cast, call and reply', () => {
      it('casts and plain messages reach an actor on another node, and a call gets its reply', async () => {
        const pid = spawnStatem(b, counter);
        a.cast(pid, { type: 'inc' });
        a.send(pid, { type: 'inc' });
        a.cast(pid, { type: 'inc' });
        // Same sender, same receiver: the call arrives after the three, so it sees them.
        expect(await a.call(pid, { type: 'get' })).toEqual({ count: 3, dings: 0 });
      });

      it('calls a name registered on another node', async () => {
        const pid = spawnStatem(b, counter, { name: 'named-counter' });
        b.cast(pid, { type: 'inc' });
        expect(await a.call({ name: 'named-counter', node: b.name }, { type: 'get' })).toEqual({ count: 1, dings: 0 });
      });

      it('times a call out when no reply comes, and drops a late one', async () => {
        const pid = spawnStatem(b, counter);
        const error = await a.call(pid, { type: 'ignore' }, { timeout: 200 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CallTimeoutError);
        expect(await a.call(pid, { type: 'get' })).toEqual({ count: 0, dings: 0 });
      });

      it('fails a call to a process that does not exist on the other node', async () => {
        const ghost = `<${b.name}.999999>` as Pid;
        const error = await a.call(ghost, { type: 'get' }, { timeout: 5_000 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CallExitError);
        expect((error as CallExitError).reason).toBe('noproc');
      });
    });

    describe('order', () => {
      it('keeps the order of messages from one sender to one receiver on another node', async () => {
        const pid = spawnStatem(b, recorder);
        for (let n = 0; n < 200; n++) a.cast(pid, { type: 'rec', n });
        const state = await a.call<Recorded>(pid, { type: 'get' });
        expect(state.seen).toEqual(Array.from({ length: 200 }, (_, n) => n));
      });

      it('keeps the order of an actor’s messages to an actor on another node', async () => {
        const receiver = spawnStatem(b, recorder);
        const sender = spawnStatem(a, recorder);
        a.cast(sender, { type: 'send', to: receiver, n: 0, count: 100 });
        const state = await eventually(async () => {
          const s = await a.call<Recorded>(receiver, { type: 'get' });
          expect(s.seen).toHaveLength(100);
          return s;
        });
        expect(state.seen).toEqual(Array.from({ length: 100 }, (_, n) => n));
      });

      it('keeps the order of messages to an entity, from any node', async () => {
        const entity = { entity: 'Recorder', key: 'ordered' };
        for (let n = 0; n < 100; n++) a.cast(entity, { type: 'rec', n });
        for (let n = 100; n < 150; n++) b.cast(entity, { type: 'rec', n });
        const state = await eventually(async () => {
          const s = await a.call<Recorded>(entity, { type: 'get' });
          expect(s.seen).toHaveLength(150);
          return s;
        });
        expect(state.seen.filter((n) => n < 100)).toEqual(Array.from({ length: 100 }, (_, n) => n));
        expect(state.seen.filter((n) => n >= 100)).toEqual(Array.from({ length: 50 }, (_, n) => n + 100));
      });

      it('keeps the order of an entity’s messages to an entity on any partition', async () => {
        const target = { entity: 'Recorder', key: 'target' };
        const source = { entity: 'Recorder', key: 'source' };
        a.cast(source, { type: 'send', to: target, n: 0, count: 50 });
        const state = await eventually(async () => {
          const s = await b.call<Recorded>(target, { type: 'get' });
          expect(s.seen).toHaveLength(50);
          return s;
        });
        expect(state.seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
      });
    });

    describe('links and monitors', () => {
      it('carries an exit signal over a link to a process on another node', async () => {
        const watcher = spawnStatem(a, recorder, { trapExit: true });
        const worker = spawnStatem(b, recorder);
        a.link(watcher, worker);
        // The link arrives before the stop: both go from a to b in order.
        a.cast(worker, { type: 'stop', reason: 'finished' });
        const state = await eventually(async () => {
          const s = await a.call<Recorded>(watcher, { type: 'get' });
          expect(s.exits).toHaveLength(1);
          return s;
        });
        expect(state.exits[0]).toEqual({ from: worker, reason: 'finished' });
      });

      it('tells a monitor on another node why the process went down', async () => {
        const worker = spawnStatem(b, recorder);
        const downs: unknown[] = [];
        a.monitor(worker, (down) => downs.push(down.reason));
        a.cast(worker, { type: 'stop', reason: 'done' });
        await eventually(() => expect(downs).toEqual(['done']));
      });

      it('delivers DOWN to a monitoring actor on another node', async () => {
        const watcher = spawnStatem(a, recorder);
        const worker = spawnStatem(b, recorder);
        a.monitor(worker, watcher);
        a.cast(worker, { type: 'stop', reason: 'bye' });
        await eventually(async () => expect((await a.call<Recorded>(watcher, { type: 'get' })).downs).toEqual([{ reason: 'bye' }]));
      });

      it('answers a monitor of a process that does not exist with noproc', async () => {
        const downs: unknown[] = [];
        a.monitor(`<${b.name}.999999>` as Pid, (down) => downs.push(down.reason));
        await eventually(() => expect(downs).toEqual(['noproc']));
      });
    });

    describe('entities', () => {
      it('spawns an entity on its first message, wherever it is sent from', async () => {
        const address = { entity: 'Counter', key: 'fresh' };
        expect(await a.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
        b.cast(address, { type: 'inc' });
        await eventually(async () => expect(await a.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 }));
        expect(await b.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 });
      });

      it('rehydrates a passivated entity with its state on its next message', async () => {
        const address = { entity: 'Counter', key: 'sleepy' };
        a.cast(address, { type: 'inc' });
        a.cast(address, { type: 'inc' });
        expect(await a.call(address, { type: 'get' })).toEqual({ count: 2, dings: 0 });
        await harness.passivate(address);
        expect(await b.call(address, { type: 'get' })).toEqual({ count: 2, dings: 0 });
      });

      it('re-arms a passivated entity’s timers: a timeout that fell due while away fires on return', async () => {
        const address = { entity: 'Counter', key: 'alarm' };
        a.cast(address, { type: 'arm', ms: 150 });
        expect(await a.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
        await harness.passivate(address);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await eventually(async () => expect(await a.call(address, { type: 'get' })).toEqual({ count: 0, dings: 1 }));
      });
    });
  });
}
