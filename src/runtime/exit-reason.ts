/**
 * Exit reasons, as in Erlang: `'normal'`, `'shutdown'`, `{ shutdown: detail }`, `'killed'`,
 * `'noproc'`, `'noconnection'`, or anything else, which is an abnormal exit (a crash's reason is
 * the thrown error itself).
 */
export type ExitReason = unknown;

/** The untrappable reason given to `exit(pid, 'kill')`; the target dies with `'killed'`. */
export const KILL = 'kill';

export function isShutdownReason(reason: ExitReason): boolean {
  return (
    reason === 'shutdown' ||
    (typeof reason === 'object' && reason !== null && !(reason instanceof Error) && 'shutdown' in reason)
  );
}

/**
 * `normal`, `shutdown` and `{shutdown, _}` are clean exits: a transient child is not restarted
 * after one, and a linked process that does not trap exits ignores only `normal`.
 */
export function isCleanExit(reason: ExitReason): boolean {
  return reason === 'normal' || isShutdownReason(reason);
}

/** A short human-readable rendering of a reason, for logs, traces and the REPL. */
export function formatReason(reason: ExitReason): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}
