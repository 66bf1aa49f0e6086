import { canCommit, detectConflicts, type ConflictRecord } from './conflicts.ts';
import type { GovernorKind, GovernorReply } from './governor-protocol.ts';

/**
 * How the orchestrator asks the governors of an event (issue 16): all at once, and decides on the
 * whole reply set as if it had asked them one after another in route order. Pure: the machine
 * (`orchestrator.ts`) sends what {@link toAsk} says and ends the event with what {@link foldAnswers}
 * says.
 *
 * Why the route order still counts:
 * - **The outcome**: the first refusal in route order is the reason given, and conflicts are
 *   checked over the replies up to it, exactly as a sequential walk would stop there.
 * - **A governor's existence**: a `prepare` creates the governor's actor if it has none, and
 *   creating one starts its initial state (and that state's timer: CustomerAccount's onboarding).
 *   Asked one after another, a governor behind a refusal was never created. So a governor the
 *   orchestrator has not asked before (not `met`) is asked only once every governor before it in
 *   the route has answered and none refused: a new customer's first events go in route order,
 *   every later one goes to all its governors at once.
 * No governor's decision reads another's state (a `prepare` carries the event alone, and commits
 * come after every reply), so nothing else needs an order.
 */

/** A governor's answer to `prepare`: its reply, or why none came (unreachable, the call timed out). */
export type Answer = { readonly governor: GovernorKind; readonly reply: GovernorReply } | { readonly governor: GovernorKind; readonly error: string };

/** The answers folded in route order: still open at a governor, or decided. */
export type Fold =
  | { readonly kind: 'open'; readonly at: GovernorKind; readonly replies: readonly GovernorReply[]; readonly conflicts: readonly ConflictRecord[] }
  | { readonly kind: 'commit'; readonly replies: readonly GovernorReply[]; readonly conflicts: readonly ConflictRecord[] }
  | {
      readonly kind: 'reject';
      readonly reason: string;
      /** The rejection is a declared conflict that blocks the commit (counted and kept apart). */
      readonly conflicted: boolean;
      readonly replies: readonly GovernorReply[];
      readonly conflicts: readonly ConflictRecord[];
    };

const refuses = (reply: GovernorReply) => reply.status === 'rejected' || reply.status === 'conflict';

/**
 * The outcome of `answers` walked in route order: the first governor without an answer leaves it
 * open; an error or a refusal, or replies so far that conflict beyond last-write-wins, reject it.
 * The replies and conflicts are those of the walk up to where it stopped.
 */
export function foldAnswers(eventId: string, route: readonly GovernorKind[], answers: readonly Answer[]): Fold {
  const replies: GovernorReply[] = [];
  let conflicts: ConflictRecord[] = [];
  for (const governor of route) {
    const answer = answers.find((a) => a.governor === governor);
    if (!answer) return { kind: 'open', at: governor, replies, conflicts };
    if ('error' in answer) return { kind: 'reject', reason: `${governor} unreachable: ${answer.error}`, conflicted: false, replies, conflicts };
    replies.push(answer.reply);
    conflicts = detectConflicts(eventId, replies);
    if (refuses(answer.reply)) {
      return { kind: 'reject', reason: `${governor} ${answer.reply.status}: ${answer.reply.reason ?? 'no reason given'}`, conflicted: false, replies, conflicts };
    }
    if (!canCommit(conflicts)) {
      return { kind: 'reject', reason: `conflict: ${conflicts.map((c) => `${c.kind} (${c.resolution})`).join(', ')}`, conflicted: true, replies, conflicts };
    }
  }
  return { kind: 'commit', replies, conflicts };
}

/**
 * Whom to send `prepare` now: every governor of the route not asked yet that was met before, and
 * the one the walk is open at when it was not (its predecessors all answered without a refusal).
 * Empty while the answers asked for are still coming, and once the event is decided.
 */
export function toAsk(route: readonly GovernorKind[], met: readonly GovernorKind[], asked: readonly GovernorKind[], fold: Fold): GovernorKind[] {
  if (fold.kind !== 'open') return [];
  return route.filter((g) => !asked.includes(g) && (met.includes(g) || g === fold.at));
}

/** Whether every governor asked has answered. */
export const allAnswered = (asked: readonly GovernorKind[], answers: readonly Answer[]): boolean => asked.every((g) => answers.some((a) => a.governor === g));
