/**
 * Entity addresses come from outside (customer ids): a kind name and a bounded, printable,
 * well-formed key, refused with a named error otherwise; each maps to one registered name and
 * back, whatever the key holds.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEntityAddressError, checkEntityAddress, entityName, isEntityAddress, type EntityAddress } from '../../../src/index.ts';
import { entityOfProcessName } from '../../../src/runtime/entity.ts';

function refusal(address: unknown): InvalidEntityAddressError | undefined {
  try {
    checkEntityAddress(address as EntityAddress);
  } catch (error) {
    if (error instanceof InvalidEntityAddressError) return error;
    throw error;
  }
  return undefined;
}

describe('an entity address', () => {
  it.each([
    { entity: 'A', key: 'k' },
    { entity: `B${'x'.repeat(63)}`, key: 'k' },
    { entity: 'Kind_1-b', key: 'k' },
    { entity: 'Account', key: 'x'.repeat(256) },
    { entity: 'Account', key: ' spaces and / slashes ' },
    { entity: 'Account', key: 'caf\u00e9 \u0080 \u{1F600}' },
  ])('%j is taken, as it is', (address) => {
    expect(checkEntityAddress(address)).toBe(address);
  });

  it.each([
    [{ entity: `B${'x'.repeat(64)}`, key: 'k' }, 'entity must be a kind name'],
    [{ entity: '1Account', key: 'k' }, 'entity must be a kind name'],
    [{ entity: '_Account', key: 'k' }, 'entity must be a kind name'],
    [{ entity: 'Acc ount', key: 'k' }, 'entity must be a kind name'],
    [{ entity: 'Account\n', key: 'k' }, 'entity must be a kind name'],
    [{ entity: 7, key: 'k' }, 'entity must be a kind name'],
    [{ entity: ['Account'], key: 'k' }, 'entity must be a kind name'],
    [{ entity: 'Account', key: 7 }, 'key must be a string of 1 to 256 characters'],
    [{ entity: 'Account', key: '' }, 'key must be a string of 1 to 256 characters'],
    [{ entity: 'Account', key: 'x'.repeat(257) }, 'key must be a string of 1 to 256 characters'],
    [{ entity: 'Account', key: 'a\u001fb' }, 'key must not contain control characters'],
    [{ entity: 'Account', key: 'a\u007f' }, 'key must not contain control characters'],
    [{ entity: 'Account', key: '\u0000' }, 'key must not contain control characters'],
    [{ entity: 'Account', key: 'a\udfff' }, 'key must be well-formed Unicode'],
  ])('%j is refused: %s', (address, problem) => {
    const error = refusal(address);
    expect(error).toBeInstanceOf(InvalidEntityAddressError);
    expect(error).toMatchObject({ code: 'INVALID_ENTITY_ADDRESS', address });
    expect(error?.message).toMatch(new RegExp(`^invalid entity address: ${problem}`));
  });

  it('is told from other addresses by its entity and key', () => {
    expect(isEntityAddress({ entity: 'A', key: 'k' })).toBe(true);
    expect(isEntityAddress({ name: 'n', node: 'x' })).toBe(false);
    expect(isEntityAddress({ entity: 'A' })).toBe(false);
    expect(isEntityAddress({ key: 'k' })).toBe(false);
    expect(isEntityAddress(null)).toBe(false);
    expect(isEntityAddress('entity:A/k')).toBe(false);
  });
});

describe('the registered name of an entity', () => {
  it('maps back to its address, whatever the key holds', () => {
    for (const address of [
      { entity: 'Account', key: 'c1' },
      { entity: 'Account', key: 'a/b/c' },
      { entity: 'Ledger', key: 'entity:Account/x' },
    ]) {
      expect(entityOfProcessName(entityName(address))).toEqual(address);
    }
    expect(entityName({ entity: 'Account', key: 'a/b' })).toBe('entity:Account/a/b');
  });

  it('is the only kind of name that maps to an address', () => {
    expect(entityOfProcessName('entities:Account')).toBeUndefined();
    expect(entityOfProcessName('orchestrator')).toBeUndefined();
    expect(entityOfProcessName('x entity:Account/c1')).toBeUndefined();
    expect(entityOfProcessName('entity:Account')).toBeUndefined();
  });
});
