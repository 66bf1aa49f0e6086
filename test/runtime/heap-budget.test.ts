/**
 * The heap budget's pure parts: where the budget comes from (option, environment, default) and
 * which entities a heap over it passivates.
 */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_BUDGET_SHARE, HEAP_BUDGET_ENV, InvalidHeapBudgetError, overBudget, resolveHeapBudget } from '../../src/runtime/heap-budget.ts';

const MiB = 1_048_576;

describe('the heap budget', () => {
  it('is the option first, then GOVERNOR_HEAP_BUDGET_MB, then a share of the heap limit', () => {
    expect(resolveHeapBudget(256, { [HEAP_BUDGET_ENV]: '64' })).toBe(256 * MiB);
    expect(resolveHeapBudget(undefined, { [HEAP_BUDGET_ENV]: '64' })).toBe(64 * MiB);
    expect(resolveHeapBudget(undefined, { GOVERNOR_HEAP_BUDGET_MB: '32' })).toBe(32 * MiB); // the name the README gives
    expect(resolveHeapBudget(undefined, { [HEAP_BUDGET_ENV]: '' })).toBe(Math.round(getHeapStatistics().heap_size_limit * DEFAULT_HEAP_BUDGET_SHARE));
    expect(resolveHeapBudget(undefined, {})).toBe(Math.round(getHeapStatistics().heap_size_limit * DEFAULT_HEAP_BUDGET_SHARE));
  });

  it('refuses what is not a positive number of MiB, naming where it came from', () => {
    expect(() => resolveHeapBudget(0, {})).toThrow(/^option heapBudgetMb must be a positive number of MiB \(e\.g\. 512\), got 0/);
    expect(() => resolveHeapBudget(-1, {}, 'BullMQ transport option heapBudgetMb')).toThrow(/^BullMQ transport option heapBudgetMb must be/);
    for (const bad of [0, -5, Number.NaN, Infinity]) {
      expect(() => resolveHeapBudget(bad, {})).toThrow(InvalidHeapBudgetError);
    }
    for (const bad of ['lots', '-1', '0', ' ', '1e400']) {
      const error = (() => {
        try {
          resolveHeapBudget(undefined, { [HEAP_BUDGET_ENV]: bad });
        } catch (caught) {
          return caught as InvalidHeapBudgetError;
        }
        return undefined;
      })();
      expect(error?.code).toBe('INVALID_HEAP_BUDGET');
      expect(error?.message).toContain(HEAP_BUDGET_ENV);
    }
  });
});

describe('a heap over its budget', () => {
  const residents = Array.from({ length: 10 }, (_, i) => ({ key: `e${i}`, lastUsed: 1_000 - i * 10, dirty: i === 9 }));

  it('passivates nothing while the heap is within the budget', () => {
    expect(overBudget(residents, 100 * MiB, 100 * MiB)).toEqual([]);
  });

  it('passivates the least recently used idle entities first, as many as the excess is of the heap', () => {
    // 20 % over: 22 % of the nine idle ones, rounded up, oldest first; e9 is dirty and stays.
    const chosen = overBudget(residents, 125 * MiB, 100 * MiB);
    expect(chosen.map((r) => r.key)).toEqual(['e8', 'e7']);
  });

  it('passivates the share of the idle entities the excess is of the heap, plus a tenth', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ lastUsed: i, dirty: false }));
    // Half the heap is over the budget: 55 % of the 50 idle ones, rounded up.
    expect(overBudget(many, 200 * MiB, 100 * MiB)).toHaveLength(28);
    expect(overBudget(many, 10_000 * MiB, MiB)).toHaveLength(50); // never more than there are
  });

  it('passivates at least one when only a little over, and never one whose memory is ahead of its commit', () => {
    expect(overBudget(residents, 100 * MiB + 1, 100 * MiB).map((r) => r.key)).toEqual(['e8']);
    expect(overBudget(residents, 10_000 * MiB, 1).map((r) => r.key)).not.toContain('e9');
    expect(overBudget([{ lastUsed: 0, dirty: true }], 10 * MiB, MiB)).toEqual([]);
  });
});
