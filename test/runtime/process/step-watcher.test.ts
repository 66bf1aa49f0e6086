import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { castTo, spawnStatem } from '../../../src/index.ts';
import type { Envelope } from '../../../src/runtime/envelope.ts';
import type { StepHandler } from '../../../src/runtime/node.ts';
import type { ProcessRecord } from '../../../src/runtime/process-record.ts';
import { simulatedNode } from '../statem/helpers.ts';

// The kernel's hook for tracing (`Node._stepWatcher`): told of each envelope as it joins a
// mailbox, while its sender's step still runs, and running each step itself.

type Ev = { type: string };

/** `relay` casts `next` to `b` on `go`; `b` records what it handled. */
function pair() {
  const handled: string[] = [];
  const relay = setup({ types: {} as { events: Ev } }).createMachine({ id: 'relay', on: { go: { actions: castTo('b', { type: 'next' }) } } });
  const sink = setup({ types: {} as { events: Ev } }).createMachine({ id: 'sink', on: { next: { actions: () => void handled.push('next') } } });
  return { handled, relay, sink };
}

describe('a step watcher', () => {
  it('sees each queued envelope inside the step that sent it, and runs every step', () => {
    const { node } = simulatedNode();
    const { handled, relay, sink } = pair();
    spawnStatem(node, relay, { name: 'a' });
    spawnStatem(node, sink, { name: 'b' });
    const log: string[] = [];
    let running: string | undefined;
    node._stepWatcher = {
      queued: (envelope: Envelope) => log.push(`queued ${'event' in envelope ? envelope.event.type : envelope.t} during ${running ?? 'no step'}`),
      step: (process: ProcessRecord, envelope: Envelope, handle: StepHandler) => {
        const outer = running;
        running = `${process.name}:${'event' in envelope ? envelope.event.type : envelope.t}`;
        try {
          return handle(process, envelope);
        } finally {
          log.push(`stepped ${running}`);
          running = outer;
        }
      },
    };
    node.cast('a', { type: 'go' });
    expect(handled).toEqual(['next']);
    expect(log).toEqual(['queued go during no step', 'queued next during a:go', 'stepped a:go', 'stepped b:next']);
  });

  it('whose step throws crashes the process as its handler would', () => {
    const { node } = simulatedNode();
    const { relay } = pair();
    const pid = spawnStatem(node, relay, { name: 'a' });
    node._stepWatcher = {
      queued: () => undefined,
      step: () => {
        throw new Error('boom');
      },
    };
    node.cast('a', { type: 'go' });
    expect(node.processOf(pid)).toBeUndefined();
  });
});
