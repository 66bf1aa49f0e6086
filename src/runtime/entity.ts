import { GovernorError } from '../errors.ts';
import { hasLoneSurrogate } from '../unicode.ts';

/**
 * A virtual actor's address: its kind (`Billing`) and its key (a customer id). It exists for as
 * long as anyone talks to it: the node that hosts the key spawns it, or brings it back from the
 * store, on its first message (as entities in Akka Cluster Sharding and grains in Orleans).
 */
export interface EntityAddress {
  readonly entity: string;
  readonly key: string;
}

/** Keys are ids from outside (customer ids): bounded, printable, no control characters. */
const MAX_KEY_LENGTH = 256;
const KIND = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class InvalidEntityAddressError extends GovernorError {
  constructor(readonly address: unknown, problem: string) {
    super('INVALID_ENTITY_ADDRESS', `invalid entity address: ${problem}`);
  }
}

export function isEntityAddress(value: unknown): value is EntityAddress {
  return typeof value === 'object' && value !== null && 'entity' in value && 'key' in value;
}

/** Checks an entity address from outside; throws {@link InvalidEntityAddressError} naming the problem. */
export function checkEntityAddress(address: EntityAddress): EntityAddress {
  if (typeof address.entity !== 'string' || !KIND.test(address.entity)) {
    throw new InvalidEntityAddressError(address, 'entity must be a kind name: a letter, then letters, digits, "_" or "-" (at most 64)');
  }
  const key = address.key;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidEntityAddressError(address, `key must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new InvalidEntityAddressError(address, 'key must not contain control characters');
  }
  // Encoded as UTF-8 (Redis, hashes), a lone surrogate becomes U+FFFD: "a\uD800" and "a\uDFFF"
  // would be one key, one customer's state read and written by another.
  if (hasLoneSurrogate(key)) {
    throw new InvalidEntityAddressError(address, 'key must be well-formed Unicode (it contains a lone surrogate, which UTF-8 cannot encode)');
  }
  return address;
}

/**
 * The registered name an entity's process runs under. The kind cannot contain "/", so two
 * different (kind, key) pairs never share a name, however the key is crafted.
 */
export function entityName(address: EntityAddress): string {
  return `entity:${address.entity}/${address.key}`;
}

/** The address behind a name made by {@link entityName}, or `undefined` for any other name. */
export function entityOfProcessName(name: string): EntityAddress | undefined {
  if (!name.startsWith('entity:')) return undefined;
  const slash = name.indexOf('/');
  // Stryker disable next-line EqualityOperator: equivalent, "entity:" has no "/", so a slash is never at 0
  return slash < 0 ? undefined : { entity: name.slice('entity:'.length, slash), key: name.slice(slash + 1) };
}
