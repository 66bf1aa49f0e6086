import { EXIT } from '../exit-codes.ts';

/**
 * What one `governor enqueue` run found, any number at once: a run of a file can have bad lines,
 * throttled events, rejected ones and pending ones together, and must still end with one code.
 */
export interface EnqueueFindings {
  /** Redis did not answer, or (with --wait) an event had no outcome yet when the wait ended. */
  readonly unavailable?: boolean;
  /** An event was not accepted at the door (invalid, or its eventId reused for other content). */
  readonly badInput?: boolean;
  /** An event was refused by its tenant's rate limit; nothing was written for it. */
  readonly throttled?: boolean;
  /** (with --wait) An event was rejected, dead-lettered, or a duplicate of a rejected one. */
  readonly refused?: boolean;
}

/**
 * The exit codes of `governor enqueue`, the first that applies winning: ordered by what the caller
 * must do first, so that a code also says none of those before it applies.
 *
 * 1. `3` unavailable: the fate of some events is unknown (Redis away, or no node handled them in
 *    time). Nothing else can be trusted to be complete: fix the cluster, then run it again
 *    (eventIds make a re-run safe: what was handled is a duplicate).
 * 2. `2` bad input: some lines can never be enqueued as written; re-running cannot help, a person
 *    must fix them.
 * 3. `5` throttled: some events were not written but will be accepted later: retry them after the
 *    time printed.
 * 4. `1` refused: everything was written and decided, and the answer to some is no; nothing to retry.
 * 5. `0` done.
 */
export const ENQUEUE_EXIT_PRECEDENCE = [
  ['unavailable', EXIT.unavailable],
  ['badInput', EXIT.usage],
  ['throttled', EXIT.throttled],
  ['refused', EXIT.failed],
] as const satisfies readonly (readonly [keyof EnqueueFindings, number])[];

/** The one exit code of an enqueue run, by {@link ENQUEUE_EXIT_PRECEDENCE}. */
export function enqueueExitCode(findings: EnqueueFindings): number {
  for (const [finding, code] of ENQUEUE_EXIT_PRECEDENCE) if (findings[finding] === true) return code;
  return EXIT.ok;
}
