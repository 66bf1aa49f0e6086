import type { Logger } from 'pino';
import type { EntityAddress } from '../../runtime/entity.ts';
import type { EntityCache } from './entity-cache.ts';
import { overBudget } from './heap-budget.ts';

/** How often a node compares its heap with its budget. */
export const HEAP_CHECK_MS = 1_000;

/** Passivations since the node started, by why: idle past `passivateAfterMs`, or the heap over its budget. */
export interface PassivationCounts {
  idle: number;
  memory: number;
}

/**
 * Keeps a node's heap under its budget: when `heapUsed()` is above it, the least recently used
 * idle entities (committed: nothing in memory is ahead of Redis) are passivated, a share of
 * them as large as the excess (see {@link overBudget}); each round is logged at info with the
 * heap, the budget and how many left memory, and counted in {@link PassivationCounts.memory}.
 * A passivated entity comes back from Redis on its next message, and its timers are woken by
 * the timer index, so nothing is lost; only the next message's load is paid again.
 */
export class MemoryPressure {
  #running = false;

  constructor(
    private readonly options: {
      readonly budget: number;
      readonly cache: EntityCache;
      readonly passivate: (address: EntityAddress) => Promise<boolean>;
      readonly counts: PassivationCounts;
      readonly logger: Logger;
      readonly heapUsed?: () => number;
    },
  ) {}

  /** One check; resolves with how many entities it passivated (0 under the budget, or while the last check still runs). */
  async check(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    try {
      const { budget, cache, passivate, counts, logger } = this.options;
      const heapUsed = (this.options.heapUsed ?? (() => process.memoryUsage().heapUsed))();
      const residents = cache.size;
      const chosen = overBudget(cache.records(), heapUsed, budget);
      if (chosen.length === 0) return 0;
      let passivated = 0;
      for (const record of chosen) if (await passivate(record.address)) passivated++;
      counts.memory += passivated;
      logger.info(
        { heapUsedMb: mb(heapUsed), heapBudgetMb: mb(budget), residents, passivated, passivatedForMemory: counts.memory },
        'heap over its budget: passivated the least recently used idle entities',
      );
      return passivated;
    } finally {
      this.#running = false;
    }
  }
}

const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
