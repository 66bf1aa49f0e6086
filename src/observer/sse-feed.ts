import type { ServerResponse } from 'node:http';
import { every, systemClock, type Clock } from '../runtime/clock.ts';
import { toJsonSafe } from '../cli/json-safe.ts';

/** Starts a Server-Sent Events response: the page's `EventSource` reconnects by itself if it drops. */
export function openEventStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  // A first comment flushes the headers, so the page's EventSource opens at once.
  res.write(': governor observer\n\n');
}

/** One SSE message. */
export function sendEvent(res: ServerResponse, event: string, data: string): void {
  res.write(`event: ${event}\ndata: ${data}\n\n`);
}

/**
 * One thing the page watches (the tree, the nodes, the dead letters, an entity), read every
 * `intervalMs` while at least one page listens, and pushed only when it changed: an idle page
 * costs a read per interval and no traffic, and no page costs nothing. `poke()` reads at once
 * (a process exit here, so a crash shows before the next tick).
 */
export class Feed {
  readonly #listeners = new Set<ServerResponse>();
  #last: string | undefined;
  #stop: (() => void) | undefined;
  #reading = false;
  #again = false;

  constructor(
    readonly event: string,
    readonly read: () => Promise<unknown>,
    readonly intervalMs: number,
    readonly clock: Clock = systemClock,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Adds a page; it gets the current value at once, then every change. Removed when it disconnects. */
  add(res: ServerResponse): void {
    this.#listeners.add(res);
    res.once('close', () => this.#remove(res));
    if (this.#last !== undefined) sendEvent(res, this.event, this.#last);
    if (!this.#stop) this.#stop = every(this.clock, this.intervalMs, () => this.poke(), { unref: true });
    this.poke();
  }

  /** Reads now (or right after the read under way) and pushes the value if it changed. */
  poke(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    void this.#readOnce().finally(() => {
      this.#reading = false;
      if (this.#again && this.#listeners.size > 0) {
        this.#again = false;
        this.poke();
      }
    });
  }

  async #readOnce(): Promise<void> {
    let text: string;
    try {
      text = JSON.stringify({ ok: true, value: toJsonSafe(await this.read()) });
    } catch (error) {
      text = JSON.stringify({ ok: false, code: (error as { code?: unknown }).code ?? 'FAILED', message: error instanceof Error ? error.message : String(error) });
    }
    if (text === this.#last) return;
    this.#last = text;
    for (const res of this.#listeners) sendEvent(res, this.event, text);
  }

  #remove(res: ServerResponse): void {
    this.#listeners.delete(res);
    if (this.#listeners.size === 0) this.close();
  }

  /** Stops reading; the last value is forgotten, so the next page gets a fresh read. */
  close(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#last = undefined;
  }
}
