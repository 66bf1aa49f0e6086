import { GovernorError } from '../errors.ts';
import { formatReason, type ExitReason } from './exit-reason.ts';
import type { Pid } from './pid.ts';

/** A `call` got no reply within its timeout. A reply that comes later is dropped. */
export class CallTimeoutError extends GovernorError {
  constructor(readonly target: string, readonly timeoutMs: number) {
    super(
      'CALL_TIMEOUT',
      `call to ${target} got no reply within ${timeoutMs} ms: the actor may be busy, suspended, or not ` +
        `handling this event in its current state; raise the timeout or check the actor with get_status`,
    );
  }
}

/** The callee exited (or did not exist: reason `noproc`) before it replied. */
export class CallExitError extends GovernorError {
  constructor(readonly target: string, readonly reason: ExitReason) {
    super(
      'CALL_EXIT',
      reason === 'noproc'
        ? `call to ${target} failed: no such process (it is not running, or the name is not registered)`
        : `call to ${target} failed: the process exited before replying (reason: ${formatReason(reason)})`,
      { cause: reason instanceof Error ? reason : undefined },
    );
  }
}

/** A message was sent to a name that nobody has registered (Erlang's `badarg`). */
export class NoSuchNameError extends GovernorError {
  constructor(readonly registeredName: string) {
    super('NO_SUCH_NAME', `no process is registered as "${registeredName}": start it first, or send to its pid`);
  }
}

/** `register` of a name that is taken, or of a name shaped like a pid. */
export class NameTakenError extends GovernorError {
  /** `currentName`: the process already has this name (a process has at most one, as in Erlang). */
  constructor(readonly registeredName: string, readonly holder: Pid | undefined, readonly currentName?: string) {
    super(
      'NAME_TAKEN',
      currentName !== undefined
        ? `${holder} is already registered as "${currentName}": a process has one name at most; unregister it first`
        : holder
          ? `the name "${registeredName}" is already registered to ${holder}: unregister it or pick another name`
          : `"${registeredName}" cannot be registered: names must be non-empty and may not start with "<"`,
    );
  }
}

/** The operation needs a live process and this one is gone. */
export class NoProcError extends GovernorError {
  constructor(readonly target: string) {
    super('NOPROC', `no such process: ${target} is not running`);
  }
}

/** A process kept more postponed events than its limit: it is not consuming what it is sent. */
export class PostponeOverflowError extends GovernorError {
  constructor(readonly pid: Pid, readonly limit: number) {
    super(
      'POSTPONE_OVERFLOW',
      `${pid} postponed more than ${limit} events: a state that postpones them is never left; ` +
        `handle them in the machine, or raise maxPostponed`,
    );
  }
}

/**
 * An event that the actor's current state neither takes nor postpones (gen_statem's crash on a
 * message no clause matches). The reason names the state and the event type, so a dead letter or
 * a supervisor report says what came and where it was not expected.
 */
export class UnhandledEventError extends GovernorError {
  constructor(readonly pid: Pid, readonly machine: string, readonly state: unknown, readonly eventType: string) {
    super(
      'UNHANDLED_EVENT',
      `${machine} ${pid} in state ${JSON.stringify(state)} got "${eventType}", which no transition of that state ` +
        `takes and no active state postpones: handle it, list it in the state's meta.postpone, or start the ` +
        `actor with unhandled: 'drop'`,
    );
  }
}

/** A machine used an XState feature that the runtime replaces with its own. */
export class UnsupportedMachineFeatureError extends GovernorError {
  constructor(feature: string, instead: string) {
    super('UNSUPPORTED_MACHINE_FEATURE', `${feature} is not supported in Governor actors: ${instead}`);
  }
}

/**
 * `stopProcess` waited its whole timeout and the process had not exited. Like OTP's `timeout`
 * exit of `gen_statem:stop/3`, the process is left to finish stopping on its own.
 */
export class StopTimeoutError extends GovernorError {
  constructor(readonly target: string, readonly timeoutMs: number) {
    super(
      'STOP_TIMEOUT',
      `${target} did not stop within ${timeoutMs} ms: it may be suspended, busy with a long mailbox, or a ` +
        `supervisor waiting for children with long shutdown times; it goes on stopping — raise the timeout ` +
        `or check it with get_status`,
    );
  }
}

/** `stopProcess`: the process exited, but with another reason than the one asked for (its terminate crashed, or it was killed). */
export class StopExitError extends GovernorError {
  constructor(readonly target: string, readonly reason: ExitReason) {
    super('STOP_EXIT', `${target} exited with ${formatReason(reason)} while being stopped`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}

/** Starting a process or a supervisor's children failed. */
export class StartError extends GovernorError {
  constructor(readonly what: string, readonly reason: ExitReason) {
    super('START_FAILED', `could not start ${what}: ${formatReason(reason)}`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}
