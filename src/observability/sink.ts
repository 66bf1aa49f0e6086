import { TelemetrySinkError } from './errors.ts';
import type { TelemetryEvent } from './events.ts';

/**
 * Where flushed batches go. `send` resolves once the whole batch is durably accepted, or rejects
 * (the collector then keeps the batch and retries later). A sink should take a batch all or
 * nothing; consumers de-duplicate by event `id` in case a retried batch was in fact accepted.
 */
export interface TelemetrySink {
  /** A short name for messages and `summary()`. */
  readonly name: string;
  send(batch: readonly TelemetryEvent[]): Promise<void>;
}

/**
 * Keeps batches in memory: for tests, the embedded node and the REPL. Can be switched `down` to
 * behave like an unreachable sink.
 *
 * @example
 * const sink = new MemorySink();
 * const collector = new TelemetryCollector({ secret, sink });
 * sink.down = true; // every send now fails
 */
export class MemorySink implements TelemetrySink {
  readonly name = 'memory';
  readonly batches: TelemetryEvent[][] = [];
  /** While `true`, `send` rejects with {@link TelemetrySinkError}, as an unreachable sink would. */
  down = false;

  async send(batch: readonly TelemetryEvent[]): Promise<void> {
    if (this.down) throw new TelemetrySinkError(this.name, 'the sink is down');
    this.batches.push([...batch]);
  }

  /** Every event received, in order. */
  get events(): TelemetryEvent[] {
    return this.batches.flat();
  }
}
