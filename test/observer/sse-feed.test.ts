/**
 * A watched thing costs nothing without a page, a read per interval with one, and traffic only
 * when it changed; a new page gets the current value at once; a failed read is an event too.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/runtime/clock.ts';
import { Feed } from '../../src/observer/sse-feed.ts';

/** A response that records what the feed writes, and can be closed as a page leaving. */
function page(): ServerResponse & { written: string[]; leave(): void } {
  const emitter = new EventEmitter() as EventEmitter & { written: string[]; write(text: string): boolean; leave(): void };
  emitter.written = [];
  emitter.write = (text: string) => (emitter.written.push(text), true);
  emitter.leave = () => emitter.emit('close');
  return emitter as unknown as ServerResponse & { written: string[]; leave(): void };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Feed', () => {
  it('reads only while a page listens, and pushes only a changed value', async () => {
    const clock = new SimulatedClock();
    let reads = 0;
    let value = 1;
    const feed = new Feed('tree', async () => (reads++, { value }), 250, clock);
    clock.advance(10_000);
    expect(reads).toBe(0);

    const a = page();
    feed.add(a);
    await settle();
    expect(reads).toBe(1);
    expect(a.written).toEqual(['event: tree\ndata: {"ok":true,"value":{"value":1}}\n\n']);

    clock.advance(250);
    await settle();
    clock.advance(250);
    await settle();
    expect(reads).toBe(3);
    expect(a.written).toHaveLength(1); // unchanged: nothing sent

    value = 2;
    clock.advance(250);
    await settle();
    expect(a.written.at(-1)).toBe('event: tree\ndata: {"ok":true,"value":{"value":2}}\n\n');

    a.leave();
    const before = reads;
    clock.advance(10_000);
    await settle();
    expect(reads).toBe(before);
  });

  it('gives a second page the current value at once, and a failed read as an event', async () => {
    const clock = new SimulatedClock();
    let fail = false;
    const feed = new Feed('dlq', async () => {
      if (fail) throw Object.assign(new Error('no queues here'), { code: 'ADMIN_UNAVAILABLE' });
      return [];
    }, 1_000, clock);
    const a = page();
    feed.add(a);
    await settle();
    const b = page();
    feed.add(b);
    expect(b.written[0]).toBe('event: dlq\ndata: {"ok":true,"value":[]}\n\n');
    fail = true;
    clock.advance(1_000);
    await settle();
    expect(a.written.at(-1)).toBe('event: dlq\ndata: {"ok":false,"code":"ADMIN_UNAVAILABLE","message":"no queues here"}\n\n');
    feed.close();
  });
});
