import type { Clock } from '../runtime/clock.ts';
import { InvalidTelemetryOptionError } from './errors.ts';
import type { FlushResult } from './collector.ts';

/** What {@link startPeriodicFlush} needs of a collector. */
export interface Flushable {
  flush(): Promise<FlushResult>;
}

/**
 * Flushes a collector every `everyMs` on the given clock, so a partial batch does not wait for the
 * hundredth event. Timers come from the injected clock (a `SimulatedClock` in tests).
 * @returns a function that stops the schedule.
 * @example
 * const stop = startPeriodicFlush(collector, { clock: node.clock, everyMs: 10_000 });
 */
export function startPeriodicFlush(collector: Flushable, options: { clock: Clock; everyMs: number }): () => void {
  const { clock, everyMs } = options;
  if (!(Number.isFinite(everyMs) && everyMs > 0)) {
    throw new InvalidTelemetryOptionError('everyMs', everyMs, 'a number of milliseconds > 0');
  }
  let stopped = false;
  let inFlight = false;
  let handle: unknown;
  const tick = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(tick, everyMs);
    // A sink that hangs must not pile up flushes: skip the tick while the last one is out.
    if (inFlight) return;
    inFlight = true;
    // A failed flush is recorded by the collector (counters, lastError); the schedule goes on.
    void collector
      .flush()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
      });
  };
  handle = clock.setTimeout(tick, everyMs);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
