import { NoProcError, StopExitError, StopTimeoutError } from './errors.ts';
import type { ExitReason } from './exit-reason.ts';
import type { Node } from './node.ts';
import { isPid, type Pid } from './pid.ts';

/**
 * Stops a process in order and waits until it has exited: OTP's `gen_statem:stop/3` and
 * `supervisor:stop/3`. The request waits its turn in the process's mailbox, then a gen_statem
 * actor runs its terminate (the machine takes `TERMINATE_EVENT`) and a supervisor terminates its
 * children in reverse start order, each as its `shutdown` says, before exiting with `reason`.
 *
 * Resolves once the process has exited with `reason`. Rejects with {@link NoProcError} when no
 * such process runs on this node, {@link StopTimeoutError} when it has not exited within
 * `timeout` (it goes on stopping, as in OTP), and {@link StopExitError} when it exited with
 * another reason (its terminate crashed, or it was killed meanwhile).
 *
 * @param ref a pid or a name registered on this node (a stop never crosses a transport)
 * @param reason @default 'normal'
 * @param timeout milliseconds on the node's clock @default Infinity (as OTP's `infinity`)
 * @example
 * await stopProcess(node, 'billing', 'shutdown', 10_000);
 */
export function stopProcess(node: Node, ref: Pid | string, reason: ExitReason = 'normal', timeout = Infinity): Promise<void> {
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new TypeError(`stop timeout must be a number of milliseconds ≥ 0 or Infinity, got ${String(timeout)}`);
  }
  return new Promise<void>((resolve, reject) => {
    node.run(() => {
      const pid = typeof ref === 'string' && isPid(ref) ? ref : node.whereis(ref);
      if (pid === undefined || !node.isAlive(pid)) return reject(new NoProcError(String(ref)));
      const label = String(ref);
      // Whichever comes first, the exit or the timeout, takes the other away: a cleared timer
      // never fires and a removed monitor never calls back, so the promise settles once.
      let cancelTimer: (() => void) | undefined;
      const monitor = node.monitor(pid, (down) => {
        cancelTimer?.();
        if (sameReason(down.reason, reason)) resolve();
        else reject(new StopExitError(label, down.reason));
      });
      if (Number.isFinite(timeout)) {
        const timer = node.clock.setTimeout(() => {
          node.demonitor(monitor, pid);
          reject(new StopTimeoutError(label, timeout));
        }, timeout);
        cancelTimer = () => node.clock.clearTimeout(timer);
      }
      node.deliver({ t: 'stop', to: pid, reason });
    });
  });
}

/** Reasons are compared as OTP compares terms: by value (a `{ shutdown: x }` built anew is the same reason). */
function sameReason(a: ExitReason, b: ExitReason): boolean {
  if (a === b) return true;
  // An error is the same reason only as the same object: its JSON (`{}`) says nothing of it.
  if (a instanceof Error || b instanceof Error) return false;
  return jsonOf(a) === jsonOf(b);
}

/** A reason's JSON text; one JSON cannot write (a cycle, a bigint) gets a symbol equal to nothing else. */
function jsonOf(reason: ExitReason): string | symbol | undefined {
  try {
    return JSON.stringify(reason);
  } catch {
    return Symbol();
  }
}
