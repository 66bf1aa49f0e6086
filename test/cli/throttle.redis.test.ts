import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { rateOf, TenantThrottle, tierInStoredState } from '../../src/cli/enqueue/throttle.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

// The per-tenant rate limit at the door, against a real Redis: one script call per tenant and
// batch, so the delays it hands out are exact, whatever the machine's speed.

let redis: RedisHandle;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A throttle on keys of its own, so tests do not share tenants' slots. */
function throttle(maxDelayMs?: number): { throttle: TenantThrottle; keys: RedisKeys } {
  const keys = new RedisKeys(`${redis.prefix}:{t${++serial}}`);
  return { throttle: new TenantThrottle(redis.client(), keys, maxDelayMs), keys };
}

function cancels(customerId: string, count: number): LifecycleEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const checked = parseLifecycleEvent({ type: 'CustomerCancels', customerId, eventId: `${customerId}-e${i}`, occurredAt: '2026-12-01T00:00:00Z' });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    return checked.event;
  });
}

/** A committed Subscription state with a plan of `tier`, as a node writes it. */
async function subscribe(keys: RedisKeys, customerId: string, tier: string): Promise<void> {
  const state = { version: 1, machine: 'Subscription', snapshot: { context: { data: { plan: { sku: 'X', tier } } } }, timers: [], postponed: [] };
  await redis.client().hset(keys.state({ entity: 'Subscription', key: customerId }), 'v', 1, 'd', JSON.stringify(state));
}

describe('a tier’s rate', () => {
  it('is its requests per second with a burst of two seconds’ worth', () => {
    expect(rateOf('community')).toEqual({ perSecond: 10, burst: 20 });
    expect(rateOf('professional')).toEqual({ perSecond: 100, burst: 200 });
    expect(rateOf('enterprise')).toEqual({ perSecond: 1000, burst: 2000 });
  });

  it.each([
    ['no state', null],
    ['text that is not JSON', '{"snapshot":'],
    ['no plan', JSON.stringify({ snapshot: { context: { data: { plan: null } } } })],
    ['a tier that does not exist', JSON.stringify({ snapshot: { context: { data: { plan: { tier: 'platinum' } } } } })],
    ['a __proto__ tier', '{"snapshot":{"context":{"data":{"plan":{"__proto__":{"tier":"enterprise"}}}}}}'],
    ['a number', '42'],
  ])('is no tier for a stored Subscription with %s', (_name, data) => {
    expect(tierInStoredState(data)).toBeUndefined();
  });
});

describe('TenantThrottle', () => {
  it('lets a burst through at once, then gives each event the next slot of the tier’s rate, in order', async () => {
    const { throttle: door } = throttle();
    const events = cancels('quiet-burst', 25);
    const { admitted, refused } = await door.admit(events);
    expect(refused).toEqual([]);
    expect(admitted.map((a) => a.event)).toEqual(events);
    // Community: 10/s, burst 20; the 21st event waits one slot (100 ms), the 25th five.
    expect(admitted.map((a) => a.delayMs)).toEqual([...Array<number>(20).fill(0), 100, 200, 300, 400, 500]);
  });

  it('refuses what would wait longer than the backlog allows, takes no slot for it, and says when to retry', async () => {
    const { throttle: door, keys } = throttle(300);
    const { admitted, refused } = await door.admit(cancels('flooder', 26));
    expect(admitted).toHaveLength(23);
    expect(admitted.at(-1)!.delayMs).toBe(300);
    expect(refused.map((r) => r.event.eventId)).toEqual(['flooder-e23', 'flooder-e24', 'flooder-e25']);
    expect(refused[0]).toMatchObject({ tier: 'community', perSecond: 10 });
    expect(refused[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(refused[0]!.retryAfterMs).toBeLessThanOrEqual(100);
    // The refused took no slot: the next event gets the slot after the last admitted one, or is refused too.
    const again = await door.admit(cancels('flooder', 1));
    expect(again.admitted.length + again.refused.length).toBe(1);
    expect(Number(await redis.client().get(keys.tenantRate('flooder')))).toBeGreaterThan(0);
  });

  it('reports a throttled tenant once a minute, as a request_rate breach its governors act on', async () => {
    const { throttle: door } = throttle();
    const first = await door.admit(cancels('reported', 30));
    expect(first.reports).toHaveLength(1);
    expect(first.reports[0]).toMatchObject({ type: 'UsageExceedsQuota', customerId: 'reported', resource: 'request_rate', limit: 10, usage: 30 });
    expect(parseLifecycleEvent(first.reports[0]).ok).toBe(true);
    const second = await door.admit(cancels('reported', 30));
    expect(second.reports).toEqual([]);
  });

  it('does not report a tenant within its rate', async () => {
    const { throttle: door } = throttle();
    const { admitted, reports } = await door.admit(cancels('polite', 20));
    expect(admitted.every((a) => a.delayMs === 0)).toBe(true);
    expect(reports).toEqual([]);
  });

  it('reads the tier from the committed Subscription: a Professional tenant’s burst is two hundred', async () => {
    const { throttle: door, keys } = throttle();
    await subscribe(keys, 'pro', 'professional');
    const { admitted } = await door.admit(cancels('pro', 201));
    expect(admitted.slice(0, 200).every((a) => a.delayMs === 0)).toBe(true);
    expect(admitted[200]!.delayMs).toBe(10);
  });

  it('a hostile stored Subscription is read as no tier, not as its claim', async () => {
    const { throttle: door, keys } = throttle();
    await redis.client().hset(keys.state({ entity: 'Subscription', key: 'liar' }), 'v', 1, 'd', '{"snapshot":{"context":{"data":{"plan":{"tier":"unlimited"}}}}}');
    const { admitted } = await door.admit(cancels('liar', 21));
    expect(admitted[20]!.delayMs).toBe(100);
  });

  it('one tenant’s flood never delays another tenant, whatever their ids', async () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,20}$/).filter((s) => s !== 'constructor' && s !== 'prototype');
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(id, { minLength: 2, maxLength: 2 }), async ([flooder, neighbour]) => {
        const { throttle: door } = throttle(60_000);
        const { admitted } = await door.admit([...cancels(flooder!, 40), ...cancels(neighbour!, 5)]);
        const mine = admitted.filter((a) => a.event.customerId === neighbour);
        expect(mine.map((a) => a.delayMs)).toEqual([0, 0, 0, 0, 0]);
        expect(admitted.filter((a) => a.event.customerId === flooder).at(-1)!.delayMs).toBe(2_000);
      }),
      { numRuns: 25 },
    );
  });

  it('keeps each tenant’s events in the order given when tenants interleave', async () => {
    const { throttle: door } = throttle();
    const a = cancels('inter-a', 22);
    const b = cancels('inter-b', 22);
    const mixed = a.flatMap((event, i) => [event, b[i]!]);
    const { admitted } = await door.admit(mixed);
    expect(admitted.map((x) => x.event)).toEqual(mixed);
    const delaysOf = (customer: string) => admitted.filter((x) => x.event.customerId === customer).map((x) => x.delayMs);
    expect(delaysOf('inter-a')).toEqual(delaysOf('inter-b'));
    expect(delaysOf('inter-a')).toEqual([...delaysOf('inter-a')].sort((x, y) => x - y));
  });
});
