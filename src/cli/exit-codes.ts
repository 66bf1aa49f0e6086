/**
 * The `governor` command's exit codes, documented in the README. Scripts rely on them: never
 * renumber.
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command ran and the answer is "no": a licence or audit chain that does not verify, a property that fails. */
  failed: 1,
  /** Bad input or usage: nothing was done (or, in bulk mode with --strict, nothing was written). */
  usage: 2,
  /** A dependency is unreachable (Redis down, wrong URL). */
  unavailable: 3,
  /** `governor start`: the node's top supervisor gave up (restart intensity exceeded); its work went back to the queues. */
  gaveUp: 4,
  /** `governor enqueue`: an event was refused by its tenant's rate limit (nothing was written for it); retry after the time given. */
  throttled: 5,
  /**
   * `governor start`: Redis would not keep what it acknowledges (no AOF, or its persistence could
   * not be read) and the node was not started with --allow-data-loss; nothing was started. Not 3:
   * retrying does not help, the Redis configuration must change.
   */
  notDurable: 6,
  /**
   * `governor start`: the Redis dataset went backwards (writes it had acknowledged were lost, or a
   * node halted it for that); the node took no more work so that no event is decided twice.
   */
  rolledBack: 7,
  /**
   * `governor start`: a stop (SIGTERM/SIGINT) did not hand everything over: Redis did not answer
   * within GOVERNOR_STOP_TIMEOUT_MS, or a second signal cut it short. The partitions it still
   * held come back when their leases expire, as after a crash.
   */
  stopIncomplete: 8,
  /** A bug: please report it with the output. */
  internal: 70,
} as const;

/** An error the CLI reports as one line with its exit code, never as a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
