import { GovernorError } from '../errors.ts';
import { checkEntityAddress, type EntityAddress } from '../runtime/entity.ts';
import { isPid, type Pid } from '../runtime/pid.ts';

/** What an admin command can point at: a pid, a registered name, or an entity. */
export type Ref = Pid | string | EntityAddress;

export class BadRefError extends GovernorError {
  constructor(readonly input: unknown) {
    super(
      'BAD_REF',
      `cannot tell which process ${JSON.stringify(input)?.slice(0, 80)} means: give a pid ("<node.12>"), ` +
        `a registered name ("entities"), or an entity as "Kind/key" ("Billing/cust-1") or { entity, key }`,
    );
  }
}

/**
 * Reads a reference typed by a person: `<n1.12>` is a pid, `Billing/cust-1` an entity (the key
 * may contain further slashes), anything else a registered name.
 */
export function parseRef(input: unknown): Ref {
  if (typeof input === 'object' && input !== null && 'entity' in input && 'key' in input) {
    return checkEntityAddress(input as EntityAddress);
  }
  if (typeof input !== 'string' || input.length === 0 || input.length > 512) throw new BadRefError(input);
  if (isPid(input)) return input;
  const slash = input.indexOf('/');
  if (slash > 0 && !input.startsWith('entities:') && !input.startsWith('entity:')) {
    return checkEntityAddress({ entity: input.slice(0, slash), key: input.slice(slash + 1) });
  }
  return input;
}
