import type { GovernorKind, GovernorReply } from './governor-protocol.ts';

export type Resolution = 'last-write-wins' | 'compensating-transaction' | 'manual-override';

/** A conflict between two governors' replies to one event, kept with both sides. */
export interface ConflictRecord {
  readonly eventId: string;
  readonly kind: string;
  readonly governors: readonly [GovernorKind, GovernorKind];
  readonly sides: readonly [GovernorReply, GovernorReply];
  readonly resolution: Resolution;
}

/**
 * A rule: when `a` reports `factA` and `b` reports `factB` for the same event, the replies
 * contradict each other, and `resolution` says what to do. Declared, not coded: every rule is
 * a row, and a new contradiction is a new row.
 */
interface ConflictRule {
  readonly kind: string;
  readonly a: GovernorKind;
  readonly factA: readonly [string, string | number | boolean];
  readonly b: GovernorKind;
  readonly factB: readonly [string, string | number | boolean];
  readonly resolution: Resolution;
}

const RULES: readonly ConflictRule[] = [
  {
    // Billing knows the money; an entitlement must not go active on a delinquent account.
    kind: 'activation-while-delinquent',
    a: 'Billing',
    factA: ['standing', 'delinquent'],
    b: 'Entitlement',
    factB: ['entitlement', 'active'],
    resolution: 'compensating-transaction',
  },
  {
    kind: 'activation-while-suspended',
    a: 'CustomerAccount',
    factA: ['account', 'suspended'],
    b: 'Entitlement',
    factB: ['entitlement', 'active'],
    resolution: 'compensating-transaction',
  },
  {
    // Two views of the tier: harmless to settle by the later event.
    kind: 'tier-disagreement',
    a: 'Subscription',
    factA: ['tierChanged', true],
    b: 'QuotaSla',
    factB: ['tierChanged', false],
    resolution: 'last-write-wins',
  },
  {
    // Compliance blocks what money cannot fix: a person decides.
    kind: 'compliance-hold',
    a: 'Compliance',
    factA: ['hold', true],
    b: 'Entitlement',
    factB: ['entitlement', 'active'],
    resolution: 'manual-override',
  },
];

/** Checks every pair of replies against the rules; pure. */
export function detectConflicts(eventId: string, replies: readonly GovernorReply[]): ConflictRecord[] {
  const found: ConflictRecord[] = [];
  for (const rule of RULES) {
    const a = replies.find((r) => r.governor === rule.a && r.facts?.[rule.factA[0]] === rule.factA[1]);
    const b = replies.find((r) => r.governor === rule.b && r.facts?.[rule.factB[0]] === rule.factB[1]);
    if (a && b) found.push({ eventId, kind: rule.kind, governors: [rule.a, rule.b], sides: [a, b], resolution: rule.resolution });
  }
  return found;
}

/** Whether the event can still commit: only conflicts settled by last-write-wins allow it. */
export function canCommit(conflicts: readonly ConflictRecord[]): boolean {
  return conflicts.every((c) => c.resolution === 'last-write-wins');
}
