/**
 * OTP's restart intensity as a pure step: the restart times still inside the period, plus now,
 * and whether that is more than the supervisor may take (`intensity` restarts in `periodMs`).
 */
export function addRestart(
  restarts: readonly number[],
  now: number,
  intensity: number,
  periodMs: number,
): { restarts: number[]; exceeded: boolean } {
  const recent = restarts.filter((at) => now - at < periodMs);
  recent.push(now);
  return { restarts: recent, exceeded: recent.length > intensity };
}

/**
 * The delay before restart attempt `attempt` (0-based): `minMs · 2^attempt`, at most `maxMs`,
 * plus up to `jitter` of itself drawn from `random`.
 */
export function backoffDelay(
  attempt: number,
  options: { minMs: number; maxMs: number; jitter: number },
  random: () => number,
): number {
  const base = Math.min(options.maxMs, options.minMs * 2 ** attempt);
  return Math.round(base * (1 + options.jitter * random()));
}
