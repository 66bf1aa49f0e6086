/** Small helpers the benchmarks share. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Heap bytes retained by `make()`'s result, after full collections on both sides. */
export async function retainedBytes<T>(make: () => T | Promise<T>): Promise<{ bytes: number; keep: T }> {
  const gc = globalThis.gc!;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = await make();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  return { bytes: after - before, keep };
}

/** Runs `fn` several times and keeps the best rate: the least disturbed by the other core's work. */
export async function bestOf(times: number, fn: () => Promise<number>): Promise<number> {
  let best = 0;
  for (let i = 0; i < times; i++) best = Math.max(best, await fn());
  return best;
}
