import { isEntityAddress, type EntityAddress } from '../../runtime/entity.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import type { CheckedJob } from './job-format.ts';

/** What {@link checkEntityJob} needs from the node's entity host. */
export interface EntityJobHost {
  hosts(kind: string): boolean;
  /** Why the target's kind refuses the message (its `accepts`), or `undefined`. */
  refusal(address: EntityAddress, envelope: Envelope, id?: string): string | undefined;
}

/** A partition job fit for delivery, or why not (`refused`: the kind refused the message itself). */
export type CheckedEntityJob =
  | { readonly ok: true; readonly id: string; readonly envelope: Envelope; readonly target: EntityAddress }
  | { readonly ok: false; readonly problem: string; readonly refused?: { readonly target: EntityAddress; readonly envelope: Envelope; readonly reason: string } };

/**
 * Everything a node checks of a partition job before it goes near an entity, except which
 * partition it belongs to (that needs the node's placement): the job format ({@link checkJob}, done
 * by the caller), an entity target of a kind the node hosts, and a message that kind takes (its
 * `accepts`). Pure, so the same checks run in the partition and in tests that compare them with
 * the published JSON Schema.
 *
 * @internal
 */
export function checkEntityJob(checked: CheckedJob, host: EntityJobHost | undefined, queue: string): CheckedEntityJob {
  if (!checked.ok) return { ok: false, problem: `invalid job: ${checked.problem}` };
  const { id, envelope } = checked;
  const target = envelope.to;
  if (!isEntityAddress(target)) return { ok: false, problem: 'a partition job must be addressed to an entity { entity, key }' };
  if (!host?.hosts(target.entity)) {
    return { ok: false, problem: `unknown entity kind "${target.entity}": the nodes consuming ${queue} do not host it` };
  }
  const refused = host.refusal(target, envelope, id);
  if (refused !== undefined) return { ok: false, problem: `invalid message to ${target.entity}/${target.key}: ${refused}`, refused: { target, envelope, reason: refused } };
  return { ok: true, id, envelope, target };
}
