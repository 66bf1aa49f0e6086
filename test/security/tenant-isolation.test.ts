/**
 * Tenant isolation: customer ids come from outside and may be crafted to collide with another
 * customer's after naive concatenation (`"a:b" + "c"` vs `"a" + ":b:c"`), after encoding (`%3A`
 * vs `:`), or with JavaScript's own names (`__proto__`, `constructor`). Properties:
 * 1. the ways an entity is named outside the process (Redis key names, the registered name, the
 *    memory store's key) are injective: distinct (kind, customer) pairs never share a name;
 * 2. through the marketplace on the memory transport, the events of one customer leave every
 *    other customer's committed governor states exactly as they were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GOVERNORS } from '../../machines/governor-protocol.ts';
import { memoryTarget } from '../../src/cli/check/memory-target.ts';
import { START } from '../../src/cli/check/marketplace.ts';
import type { ActorState } from '../../src/cli/check/target.ts';
import { checkEntityAddress, entityName, type EntityAddress } from '../../src/runtime/entity.ts';
import { hasLoneSurrogate } from '../../src/unicode.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { entitySuffix, RedisKeys } from '../../src/store/redis-keys.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { CRAFTED_CUSTOMER_IDS, customerIdArbitrary, isAcceptedKey, separatorText, tenantEventFields } from '../fixtures/hostile/tenants.ts';

const CRAFTED = CRAFTED_CUSTOMER_IDS;
const customerId = customerIdArbitrary;

const kind = fc.constantFrom('Orchestrator', 'Receipts', ...GOVERNORS, 'A', 'A_b', 'A-b');
const address: fc.Arbitrary<EntityAddress> = fc.record({ entity: kind, key: customerId });

describe('entity naming is injective', () => {
  it('the crafted ids are all accepted keys (so the properties below really see them)', () => {
    expect(CRAFTED.filter((id) => !isAcceptedKey(id))).toEqual([]);
    expect(CRAFTED.some(hasLoneSurrogate)).toBe(false);
  });

  it('distinct (kind, key) pairs get distinct Redis keys, registered names and store keys', () => {
    const keys = new RedisKeys('{governor}');
    const namings: Array<[string, (a: EntityAddress) => string]> = [
      ['state', (a) => keys.state(a)],
      ['handled', (a) => keys.handled(a)],
      ['records', (a) => keys.records(a)],
      ['suffix', entitySuffix],
      ['name', entityName],
      // The bytes Redis stores: injective on strings is not enough if the encoding merges them.
      ['state bytes', (a) => Buffer.from(keys.state(a), 'utf8').toString('base64')],
    ];
    fc.assert(
      fc.property(fc.uniqueArray(address, { minLength: 2, maxLength: 12, selector: (a) => JSON.stringify([a.entity, a.key]) }), (addresses) => {
        for (const [what, name] of namings) {
          const names = addresses.map(name);
          expect(new Set(names).size, `${what}: ${JSON.stringify(addresses)}`).toBe(addresses.length);
        }
        // State and handled-records keys of all entities never meet either.
        const all = addresses.flatMap((a) => [keys.state(a), keys.handled(a), keys.records(a), keys.journal(a)]);
        expect(new Set(all).size).toBe(all.length);
        // The embedded node's store: each address reads back its own state, none another's.
        const store = new MemoryStore();
        addresses.forEach((a, i) => store.set(a, { owner: i } as never));
        expect(store.size).toBe(addresses.length);
        addresses.forEach((a, i) => expect(store.get(a)?.state).toEqual({ owner: i }));
      }),
      { numRuns: 1_000 },
    );
  });

  it('naive concatenation collisions stay apart', () => {
    const keys = new RedisKeys('{governor}');
    fc.assert(
      fc.property(separatorText, separatorText, separatorText, (a, b, c) => {
        const left = { entity: 'Billing', key: `${a}:${b}${c}` };
        const right = { entity: 'Billing', key: `${a}${b}:${c}` };
        fc.pre(left.key !== right.key);
        expect(keys.state(left)).not.toBe(keys.state(right));
        expect(entityName(left)).not.toBe(entityName(right));
      }),
      { numRuns: 500 },
    );
    // A kind cannot carry a separator, so "Billing" + ":a" can never be "Billing:a" + "".
    expect(() => keys.state({ entity: 'Billing:a', key: 'b' })).toThrow(/kind name/);
    expect(() => entityName(checkEntityAddress({ entity: 'Billing/a', key: 'b' }))).toThrow(/kind name/);
  });
});

const eventFields = tenantEventFields;

type States = Map<string, ActorState>;

describe('one customer cannot change another', () => {
  it("applying a customer's events leaves every other customer's committed states unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(customerId, { minLength: 2, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), eventFields), { minLength: 1, maxLength: 8 }),
        async (customers, steps) => {
          const target = memoryTarget({ start: START, pseudonymKey: 'tenant-isolation' });
          try {
            const read = async (): Promise<Map<string, States>> => new Map(await Promise.all(customers.map(async (c) => [c, await target.states(c)] as const)));
            let serial = 0;
            let before = await read();
            for (const [pick, fields] of steps) {
              const owner = customers[pick % customers.length]!;
              const event = { eventId: `e-${++serial}`, customerId: owner, occurredAt: new Date(target.clock.now()).toISOString(), ...fields } as LifecycleEvent;
              const refused = await target.submit(event).then(
                () => false,
                (error: { code?: string }) => (expect(error.code).toBe('INVALID_MESSAGE'), true),
              );
              const after = await read();
              if (refused) {
                // Not a customer id an event may carry: refused at the orchestrator's door, and
                // nobody's state changed, the owner's included.
                expect(after).toEqual(before);
                continue;
              }
              for (const other of customers) {
                if (other === owner) continue;
                // structuredClone-equal: the same states, contexts and data, field for field.
                expect(after.get(other), `${event.type} of ${JSON.stringify(owner)} changed ${JSON.stringify(other)}`).toEqual(before.get(other));
              }
              // The owner's own actors exist: the event really reached someone.
              expect(after.get(owner)!.has('Orchestrator')).toBe(true);
              before = after;
            }
          } finally {
            await target.stop();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

/**
 * States with their random secrets replaced by a mark: a customer's personal-data salt is random by
 * design (a derived one would outlive its erasure), so two runs never share one, nor the HMACs made
 * under it. Where a salt or an HMAC is, and where not, is still compared.
 */
function unsalted<T>(states: T): T {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, walk(v)]));
    if (value === null || typeof value !== 'object') return typeof value === 'string' && value.startsWith('hmac-sha256:') ? '<hmac>' : value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'salt' && typeof v === 'string' ? '<salt>' : walk(v)]));
  };
  return walk(states) as T;
}

describe('non-interference', () => {
  it("each customer ends where its own events alone would take it, whatever the others did in between", async () => {
    const run = async (customers: readonly string[], steps: readonly (readonly [string, Record<string, unknown>, number])[]) => {
      const target = memoryTarget({ start: START, pseudonymKey: 'tenant-isolation' });
      try {
        for (const [owner, fields, serial] of steps) {
          // A customer id no event may carry is refused at the door (tested above); the rest go through.
          await target.submit({ eventId: `e-${serial}`, customerId: owner, occurredAt: new Date(START).toISOString(), ...fields } as LifecycleEvent).catch((error: { code?: string }) => {
            if (error.code !== 'INVALID_MESSAGE') throw error;
          });
        }
        return new Map(await Promise.all(customers.map(async (c) => [c, unsalted(await target.states(c))] as const)));
      } finally {
        await target.stop();
      }
    };
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(customerId, { minLength: 2, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), eventFields), { minLength: 2, maxLength: 8 }),
        async (customers, picks) => {
          const steps = picks.map(([pick, fields], i) => [customers[pick % customers.length]!, fields, i] as const);
          const together = await run(customers, steps);
          for (const customer of customers) {
            const alone = await run([customer], steps.filter(([owner]) => owner === customer));
            expect(together.get(customer), JSON.stringify(customer)).toEqual(alone.get(customer));
          }
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);
});
