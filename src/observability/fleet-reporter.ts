/** A fleet member as the reporter choice needs it (the transport's `ClusterNode`). */
export interface FleetMember {
  readonly name: string;
  readonly alive: boolean;
  readonly info?: { readonly startedAt: number } | undefined;
}

/**
 * The node that reports a fleet's shared series (the dead-letter queue's depth, the producers'
 * door refusals), so a sum over nodes counts them once: the oldest live member, by start time and
 * then name. Every node reads the same membership from Redis at its heartbeat, so they agree on
 * it; the oldest member changes only when it leaves or dies, so the series rarely moves between
 * nodes (unlike "the owner of partition 0", which moves at each rebalance). `undefined` when no
 * member is alive (not yet known).
 */
export function fleetReporter(members: readonly FleetMember[]): string | undefined {
  let oldest: FleetMember | undefined;
  for (const member of members) {
    if (!member.alive) continue;
    if (oldest === undefined || startOf(member) < startOf(oldest) || (startOf(member) === startOf(oldest) && member.name < oldest.name)) oldest = member;
  }
  return oldest?.name;
}

/** A member without info (an older version's heartbeat) counts as the youngest. */
function startOf(member: FleetMember): number {
  return member.info?.startedAt ?? Number.POSITIVE_INFINITY;
}
