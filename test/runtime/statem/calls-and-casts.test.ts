import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assign, setup } from 'xstate';
import {
  CallExitError,
  CallTimeoutError,
  callTo,
  castTo,
  nextEvent,
  reply,
  spawnStatem,
  stop,
  sys,
  type Address,
  type TraceEntry,
} from '../../../src/index.ts';
import { flush, simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };

/** Counts `inc`, answers `get`; in `busy` it takes nothing but `free` and postpones everything else. */
const counter = setup({
  types: {} as { context: { n: number; log: string[] }; events: Ev },
}).createMachine({
  id: 'counter',
  context: { n: 0, log: [] },
  initial: 'idle',
  states: {
    idle: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        ping: { actions: assign({ log: ({ context, event }) => [...context.log, `ping:${String(event.from)}`] }) },
        get: { actions: reply(({ context }) => context.n) },
        echo: { actions: reply(({ event }) => event.value) },
        busy: 'busy',
        quit: { actions: stop(({ event }: { event: Ev }) => event.reason) },
        boom: {
          actions: () => {
            throw new Error('callee crashed');
          },
        },
      },
    },
    busy: { meta: { postpone: () => true }, on: { free: 'idle' } },
  },
});

/** Appends every `n` event's `from`/`i` to its log, so arrival order can be checked. */
const recorder = setup({ types: {} as { context: { seen: string[] }; events: Ev } }).createMachine({
  id: 'recorder',
  context: { seen: [] },
  on: {
    n: { actions: assign({ seen: ({ context, event }) => [...context.seen, `${String(event.from)}:${String(event.i)}`] }) },
  },
});

/** Forwards `fwd` to its peer as `n`, so ordering between two actors can be observed. */
const forwarder = setup({ types: {} as { context: { peer: Address; id: string }; input: { peer: Address; id: string }; events: Ev } }).createMachine({
  id: 'forwarder',
  context: ({ input }) => input,
  on: {
    fwd: { actions: castTo(({ context }) => context.peer, ({ context, event }) => ({ type: 'n', from: context.id, i: event.i })) },
  },
});

/** Calls its peer on `ask` and records what came back, as gen_statem code waits for a reply in a state of its own. */
const asker = setup({
  types: {} as {
    context: { peer: Address; result: unknown; error: unknown; log: string[] };
    input: { peer: Address; timeout?: number };
    events: Ev;
  },
}).createMachine({
  id: 'asker',
  context: ({ input }) => ({ peer: input.peer, result: undefined, error: undefined, log: [] }),
  initial: 'idle',
  states: {
    idle: {
      // A message a callee sends after its reply waits for the next ask's wait (`after`).
      meta: { postpone: ['after'] },
      on: {
        ask: {
          target: 'waiting',
          actions: callTo(({ context }) => context.peer, ({ event }) => (event.question as Ev) ?? { type: 'get' }, {
            timeout: 100,
            onReply: (value) => ({ type: 'answer', value }),
            onError: (error) => ({ type: 'failed', error }),
          }),
        },
      },
    },
    waiting: {
      on: {
        answer: { target: 'idle', actions: assign({ result: ({ event }) => event.value, log: ({ context }) => [...context.log, 'answer'] }) },
        failed: { target: 'idle', actions: assign({ error: ({ event }) => event.error, log: ({ context }) => [...context.log, 'failed'] }) },
        after: { actions: assign({ log: ({ context }) => [...context.log, 'after'] }) },
      },
    },
  },
});

/** Replies to `get` and then casts `after` to the asker: the reply was sent first, so it must arrive first. */
const replyThenCast = setup({ types: {} as { context: { asker: Address }; input: { asker: Address }; events: Ev } }).createMachine({
  id: 'reply-then-cast',
  context: ({ input }) => input,
  on: { get: { actions: [reply(42), castTo(({ context }) => context.asker, { type: 'after' })] } },
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('casts and info', () => {
  it('handles a cast before node.cast returns (run to completion)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.cast(pid, { type: 'inc' });
    expect(stateOf<{ n: number }>(node, pid).context.n).toBe(1);
    node.cast(pid, { type: 'inc' });
    node.cast(pid, { type: 'inc' });
    expect(stateOf<{ n: number }>(node, pid).context.n).toBe(3);
  });

  it('delivers a plain message (node.send) as an info event, with its sender', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter, { name: 'counter' });
    const trace: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => trace.push(entry));
    node.send('counter', { type: 'ping', from: 'outside' });
    expect(stateOf<{ log: string[] }>(node, pid).context.log).toEqual(['ping:outside']);
    expect(trace).toContainEqual(expect.objectContaining({ kind: 'in', via: 'info', event: { type: 'ping', from: 'outside' } }));
    node.cast(pid, { type: 'inc' });
    expect(trace).toContainEqual(expect.objectContaining({ kind: 'in', via: 'cast', event: { type: 'inc' } }));
  });

  it('drops a message to a dead pid and counts it as undelivered', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.exit(pid, 'kill');
    const before = node.stats.undelivered;
    node.cast(pid, { type: 'inc' });
    node.send(pid, { type: 'inc' });
    expect(node.stats.undelivered).toBe(before + 2);
  });
});

describe('calls', () => {
  it('answers a call with the reply action', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter, { name: 'counter' });
    node.cast(pid, { type: 'inc' });
    await expect(node.call(pid, { type: 'get' })).resolves.toBe(1);
    await expect(node.call('counter', { type: 'echo', value: { deep: [1, 2] } })).resolves.toEqual({ deep: [1, 2] });
    await expect(node.call({ name: 'counter', node: node.name }, { type: 'get' })).resolves.toBe(1);
  });

  it('answers a call whose reply value is undefined or null', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    await expect(node.call(pid, { type: 'echo', value: undefined })).resolves.toBeUndefined();
    await expect(node.call(pid, { type: 'echo', value: null })).resolves.toBeNull();
  });

  it('answers with reply() a call re-inserted with nextEvent, as {next_event, {call, From}, Req}', async () => {
    // `ask` moves to `working` and hands the call itself to that state, which answers it.
    const delegating = setup({ types: {} as { context: { n: number }; events: Ev } }).createMachine({
      id: 'delegating',
      context: { n: 41 },
      initial: 'idle',
      states: {
        idle: { on: { ask: { target: 'working', actions: nextEvent(({ event }) => event) }, other: { target: 'working', actions: nextEvent({ type: 'ask' }) } } },
        working: { on: { ask: { target: 'idle', actions: reply(({ context }) => context.n + 1) } } },
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, delegating);
    await expect(node.call(pid, { type: 'ask' }, { timeout: 100 })).resolves.toBe(42);
    expect(stateOf(node, pid).value).toBe('idle');

    // An inserted event that is not the call has no caller: reply() there answers nobody.
    const answer = node.call(pid, { type: 'other' }, { timeout: 100 });
    clock.advance(100);
    await expect(answer).rejects.toBeInstanceOf(CallTimeoutError);
    expect(node.stats.lateReplies).toBe(0);
  });

  it('can be answered from outside the actor with node.reply and the caller it kept (gen_statem:reply); a second answer is late', async () => {
    const keeper = setup({ types: {} as { context: { from: unknown }; events: Ev } }).createMachine({
      id: 'keeper',
      context: { from: undefined },
      on: { ask: { actions: assign({ from: ({ event }) => event.$from }) } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, keeper);
    const call = node.call(pid, { type: 'ask' }, { timeout: Infinity });
    const from = stateOf<{ from: Parameters<typeof node.reply>[0] }>(node, pid).context.from;
    expect(from).toEqual({ node: node.name, ref: expect.any(String) });
    node.reply(from, 'answered by hand');
    await expect(call).resolves.toBe('answered by hand');
    expect(node.stats.lateReplies).toBe(0);
    node.reply(from, 'again');
    expect(node.stats.lateReplies).toBe(1);
  });

  it('ignores the reply action when the event being handled was a cast', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.cast(pid, { type: 'get' });
    expect(node.stats.lateReplies).toBe(0);
    expect(node.isAlive(pid)).toBe(true);
  });

  it('rejects with CallTimeoutError when no reply comes in time, and drops the late reply', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.cast(pid, { type: 'busy' }); // `get` is now postponed until the state changes
    const call = node.call(pid, { type: 'get' }, { timeout: 100 });
    let settled = false;
    void call.then(
      () => (settled = true),
      () => (settled = true),
    );
    clock.advance(99);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    const error = await rejection(call);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error).toMatchObject({ code: 'CALL_TIMEOUT', timeoutMs: 100, target: pid });

    // The state changes, the postponed call is handled and replied to: nobody is waiting any more.
    node.cast(pid, { type: 'free' });
    expect(node.stats.lateReplies).toBe(1);
    expect(node.isAlive(pid)).toBe(true);
    await expect(node.call(pid, { type: 'get' })).resolves.toBe(0);
  });

  it('drops a late reply from an actor that was suspended past the caller’s timeout', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, counter);
    sys.suspend(node, pid);
    const call = node.call(pid, { type: 'get' }, { timeout: 50 });
    clock.advance(50);
    await expect(call).rejects.toBeInstanceOf(CallTimeoutError);
    sys.resume(node, pid);
    expect(node.stats.lateReplies).toBe(1);
    expect(node.isAlive(pid)).toBe(true);
  });

  it('waits 5 s by default and forever with timeout Infinity', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.cast(pid, { type: 'busy' });
    const byDefault = node.call(pid, { type: 'get' });
    const forever = node.call(pid, { type: 'get' }, { timeout: Infinity });
    clock.advance(4_999);
    clock.advance(1);
    await expect(byDefault).rejects.toMatchObject({ timeoutMs: 5_000 });
    clock.advance(1_000_000_000);
    node.cast(pid, { type: 'free' });
    await expect(forever).resolves.toBe(0);
  });

  it('refuses a timeout that is not a number of milliseconds ≥ 0 or Infinity', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    for (const timeout of [-1, Number.NaN, -Infinity, '100' as unknown as number]) {
      await expect(node.call(pid, { type: 'get' }, { timeout })).rejects.toThrow(TypeError);
    }
    await expect(node.call(pid, { type: 'get' }, { timeout: 0 })).resolves.toBe(0);
  });

  it('rejects with CallExitError noproc for a dead pid, an unregistered name or {name, node}', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.exit(pid, 'kill');
    for (const to of [pid, 'nobody', { name: 'nobody', node: node.name }] as Address[]) {
      const error = await rejection(node.call(to, { type: 'get' }));
      expect(error).toBeInstanceOf(CallExitError);
      expect(error).toMatchObject({ code: 'CALL_EXIT', reason: 'noproc' });
    }
  });

  it('rejects with the callee’s exit reason when it stops without replying', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    const error = await rejection(node.call(pid, { type: 'quit', reason: { shutdown: 'bye' } }));
    expect(error).toBeInstanceOf(CallExitError);
    expect((error as CallExitError).reason).toEqual({ shutdown: 'bye' });
    expect(node.isAlive(pid)).toBe(false);
  });

  it('rejects with the thrown error as reason (and cause) when the callee crashes on the call', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    const error = (await rejection(node.call(pid, { type: 'boom' }))) as CallExitError;
    expect(error).toBeInstanceOf(CallExitError);
    expect(error.reason).toBeInstanceOf(Error);
    expect((error.reason as Error).message).toBe('callee crashed');
    expect(error.cause).toBe(error.reason);
  });

  it('rejects with killed when the callee is killed while the call waits', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    node.cast(pid, { type: 'busy' });
    const call = node.call(pid, { type: 'get' }, { timeout: Infinity });
    node.exit(pid, 'kill');
    await expect(call).rejects.toMatchObject({ reason: 'killed' });
  });

  it('leaves no monitor behind on the callee after a call is answered or times out', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, counter);
    await node.call(pid, { type: 'get' });
    expect(sys.getStatus(node, pid).monitoredBy).toBe(0);
    node.cast(pid, { type: 'busy' });
    const call = node.call(pid, { type: 'get' }, { timeout: 10 });
    clock.advance(10);
    await expect(call).rejects.toBeInstanceOf(CallTimeoutError);
    expect(sys.getStatus(node, pid).monitoredBy).toBe(0);
  });
});

describe('actor to actor', () => {
  it('castTo delivers to a pid or a registered name', () => {
    const { node } = simulatedNode();
    const target = spawnStatem(node, recorder, { name: 'rec' });
    const byPid = spawnStatem(node, forwarder, { input: { peer: target, id: 'a' } });
    const byName = spawnStatem(node, forwarder, { input: { peer: 'rec', id: 'b' } });
    node.cast(byPid, { type: 'fwd', i: 1 });
    node.cast(byName, { type: 'fwd', i: 2 });
    expect(stateOf<{ seen: string[] }>(node, target).context.seen).toEqual(['a:1', 'b:2']);
    expect(sys.statistics(node, byPid).messagesOut).toBe(1);
  });

  it('callTo brings the reply back as the onReply event', async () => {
    const { node } = simulatedNode();
    const callee = spawnStatem(node, counter, { name: 'counter' });
    node.cast(callee, { type: 'inc' });
    node.cast(callee, { type: 'inc' });
    const caller = spawnStatem(node, asker, { input: { peer: 'counter' } });
    node.cast(caller, { type: 'ask' });
    await flush();
    const state = stateOf<{ result: unknown; error: unknown }>(node, caller);
    expect(state.value).toBe('idle');
    expect(state.context.result).toBe(2);
    expect(state.context.error).toBeUndefined();
  });

  it('callTo turns a timeout into the onError event, and the late reply is dropped', async () => {
    const { node, clock } = simulatedNode();
    const callee = spawnStatem(node, counter);
    node.cast(callee, { type: 'busy' });
    const caller = spawnStatem(node, asker, { input: { peer: callee } });
    node.cast(caller, { type: 'ask' });
    clock.advance(100);
    await flush();
    const state = stateOf<{ error: unknown; result: unknown }>(node, caller);
    expect(state.value).toBe('idle');
    expect(state.context.error).toBeInstanceOf(CallTimeoutError);
    node.cast(callee, { type: 'free' });
    await flush();
    expect(node.stats.lateReplies).toBe(1);
    expect(stateOf<{ result: unknown }>(node, caller).context.result).toBeUndefined();
  });

  it('callTo turns a missing callee into onError with CallExitError noproc', async () => {
    const { node } = simulatedNode();
    const caller = spawnStatem(node, asker, { input: { peer: 'nobody' } });
    node.cast(caller, { type: 'ask' });
    await flush();
    const error = stateOf<{ error: unknown }>(node, caller).context.error;
    expect(error).toBeInstanceOf(CallExitError);
    expect(error).toMatchObject({ reason: 'noproc' });
  });

  it('callTo turns the callee’s crash into onError with its reason', async () => {
    const { node } = simulatedNode();
    const callee = spawnStatem(node, counter);
    const caller = spawnStatem(node, asker, { input: { peer: callee } });
    node.cast(caller, { type: 'ask', question: { type: 'boom' } });
    await flush();
    const error = stateOf<{ error: CallExitError }>(node, caller).context.error;
    expect(error).toBeInstanceOf(CallExitError);
    expect((error.reason as Error).message).toBe('callee crashed');
    expect(node.isAlive(caller)).toBe(true);
  });

  it('a reply arrives before a message the callee sent after replying (same sender, same receiver)', async () => {
    const { node } = simulatedNode();
    const caller = spawnStatem(node, asker, { input: { peer: 'replier' } });
    spawnStatem(node, replyThenCast, { name: 'replier', input: { asker: caller } });
    node.cast(caller, { type: 'ask' });
    await flush();
    const state = stateOf<{ log: string[]; result: unknown }>(node, caller);
    expect(state.context.result).toBe(42);
    // `after` came while waiting would be logged as 'after'; arriving after the answer, in idle, it is postponed.
    expect(state.context.log).toEqual(['answer']);
    expect(sys.getStatus(node, caller).postponed).toBe(1);
  });

  it('a callTo whose onReply throws crashes the caller, not the callee', async () => {
    const machine = setup({ types: {} as { context: { peer: Address }; input: { peer: Address }; events: Ev } }).createMachine({
      id: 'bad-caller',
      context: ({ input }) => input,
      on: {
        ask: {
          actions: callTo(({ context }) => context.peer, { type: 'get' }, {
            onReply: () => {
              throw new Error('bad onReply');
            },
            onError: (error) => ({ type: 'failed', error }),
          }),
        },
      },
    });
    const { node } = simulatedNode();
    const callee = spawnStatem(node, counter);
    const caller = spawnStatem(node, machine, { input: { peer: callee } });
    const seen = watch(node, caller);
    node.cast(caller, { type: 'ask' });
    await flush();
    expect(node.isAlive(callee)).toBe(true);
    expect(seen.down).toBe(true);
    expect((seen.reason as Error).message).toBe('bad onReply');
  });
});

describe('message order', () => {
  it('keeps the order of many casts and infos from outside, across scheduler slices and a suspension', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, recorder);
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i === 100) sys.suspend(node, pid);
      (i % 3 === 0 ? node.send : node.cast).call(node, pid, { type: 'n', from: 'x', i });
      expected.push(`x:${i}`);
    }
    expect(sys.statistics(node, pid).mailboxLength).toBe(200);
    sys.resume(node, pid);
    expect(stateOf<{ seen: string[] }>(node, pid).context.seen).toEqual(expected);
  });

  it('keeps each sender’s order to one receiver, whatever the interleaving', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 200 }), fc.integer({ min: -1, max: 199 }), (senders, suspendAt) => {
        const { node } = simulatedNode();
        const target = spawnStatem(node, recorder);
        const forwarders = ['a', 'b', 'c'].map((id) => spawnStatem(node, forwarder, { input: { peer: target, id } }));
        const counts = [0, 0, 0];
        senders.forEach((s, index) => {
          if (index === suspendAt) sys.suspend(node, target);
          node.cast(forwarders[s]!, { type: 'fwd', i: counts[s]!++ });
        });
        if (suspendAt >= 0 && suspendAt < senders.length) sys.resume(node, target);
        const seen = stateOf<{ seen: string[] }>(node, target).context.seen;
        expect(seen).toHaveLength(senders.length);
        for (const id of ['a', 'b', 'c']) {
          const mine = seen.filter((s) => s.startsWith(`${id}:`)).map((s) => Number(s.slice(2)));
          expect(mine).toEqual(mine.map((_, i) => i));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('keeps order from one actor to another when the receiver is busy with its own slice', () => {
    const { node } = simulatedNode();
    const target = spawnStatem(node, recorder);
    const source = spawnStatem(node, forwarder, { input: { peer: target, id: 's' } });
    sys.suspend(node, source);
    for (let i = 0; i < 500; i++) node.cast(source, { type: 'fwd', i });
    sys.resume(node, source);
    const seen = stateOf<{ seen: string[] }>(node, target).context.seen;
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => `s:${i}`));
  });
});

describe('malformed messages', () => {
  const hostile: unknown[] = [
    null,
    undefined,
    'inc',
    42,
    {},
    { type: 1 },
    { type: '' },
    { type: '*' },
    { type: 'xstate.init' },
    { type: 'xstate.after.300.timer.waiting' },
  ];

  it('are refused to the sender with a TypeError and never reach (or crash) the receiver', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, counter);
    const seen = watch(node, pid);
    for (const event of hostile) {
      expect(() => node.cast(pid, event as never), JSON.stringify(event)).toThrow(TypeError);
      expect(() => node.send(pid, event as never), JSON.stringify(event)).toThrow(TypeError);
      await expect(node.call(pid, event as never), JSON.stringify(event)).rejects.toThrow(TypeError);
    }
    expect(seen.down).toBe(false);
    expect(sys.statistics(node, pid).messagesIn).toBe(0);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });

  it('cannot fire an XState delayed transition early by forging its event', () => {
    const timer = setup({}).createMachine({ id: 'timer', initial: 'waiting', states: { waiting: { after: { 300: 'done' } }, done: {} } });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, timer);
    expect(() => node.cast(pid, { type: 'xstate.after.300.timer.waiting' })).toThrow(TypeError);
    expect(stateOf(node, pid).value).toBe('waiting');
  });

  it('crash the actor that sends them, not the one they are sent to', () => {
    const badSender = setup({ types: {} as { context: { peer: Address }; input: { peer: Address }; events: Ev } }).createMachine({
      id: 'bad-sender',
      context: ({ input }) => input,
      on: { go: { actions: castTo(({ context }) => context.peer, { type: '*' }) } },
    });
    const { node } = simulatedNode();
    const receiver = spawnStatem(node, counter);
    const sender = spawnStatem(node, badSender, { input: { peer: receiver } });
    const seen = watch(node, sender);
    node.cast(sender, { type: 'go' });
    expect(seen.reason).toBeInstanceOf(TypeError);
    expect(node.isAlive(receiver)).toBe(true);
  });
});
