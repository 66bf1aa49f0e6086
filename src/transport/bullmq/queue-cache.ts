import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TransportSettings } from './options.ts';

/**
 * BullMQ `Queue`s by name, created on first use, all on one shared fail-fast connection.
 *
 * A Queue whose initialization failed is forgotten, so the next use creates a fresh one. BullMQ
 * sends one `INFO` (its version check) when a Queue is made and keeps the promise of it: every
 * command of that Queue awaits it first. On a fail-fast connection (`maxRetriesPerRequest: 2`) an
 * `INFO` in flight when Redis goes away is rejected with `MaxRetriesPerRequestError` after a few
 * failed reconnects, and that Queue then fails every command with the same error for good, while
 * the connection itself (and every new Queue on it) works again once Redis is back.
 */
export class QueueCache {
  readonly #queues = new Map<string, Queue>();
  readonly #create: (name: string) => Queue;
  readonly #discarded: (name: string, error: unknown) => void;
  #closed = false;

  /** `discarded` hears of each Queue forgotten (to log it). */
  constructor(create: (name: string) => Queue, discarded: (name: string, error: unknown) => void = () => undefined) {
    this.#create = create;
    this.#discarded = discarded;
  }

  get(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      const created = (queue = this.#create(name));
      this.#queues.set(name, created);
      void created.waitUntilReady().catch((error: unknown) => this.#discard(name, created, error));
    }
    return queue;
  }

  #discard(name: string, queue: Queue, error: unknown): void {
    if (this.#closed || this.#queues.get(name) !== queue) return;
    this.#queues.delete(name);
    this.#discarded(name, error);
    // On a shared connection, closing a Queue only detaches its listeners from the connection.
    void queue.close().catch(() => undefined);
  }

  /** Closes every Queue (not the connection they share). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => undefined)));
  }
}

/** A Queue for adding Governor's jobs: no BullMQ retries (a retry goes to the tail and breaks order). */
export function addingQueue(name: string, connection: Redis, settings: TransportSettings): Queue {
  return new Queue(name, {
    connection,
    prefix: settings.prefix,
    streams: { events: { maxLen: settings.eventsMaxLen } },
    defaultJobOptions: { attempts: 1, removeOnComplete: settings.removeOnComplete, removeOnFail: settings.removeOnFail },
    telemetry: settings.telemetry,
  });
}
