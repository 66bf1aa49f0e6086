import type { Logger } from 'pino';
import type { EntityAddress } from './entity.ts';
import { overBudget, type ResidentEntity } from './heap-budget.ts';

/** How often a node compares its heap with its budget. */
export const HEAP_CHECK_MS = 1_000;

/** Passivations since the node started, by why: idle past `passivateAfterMs`, or the heap over its budget. */
export interface PassivationCounts {
  idle: number;
  memory: number;
}

/** A resident entity as {@link MemoryPressure} sees it: its address, when last used, whether memory is ahead of its commit. */
export interface PressuredEntity extends ResidentEntity {
  readonly address: EntityAddress;
}

/**
 * Keeps a node's heap under its budget: when `heapUsed()` is above it, the least recently used
 * idle entities (committed: nothing in memory is ahead of the store) are passivated, a share of
 * them as large as the excess (see {@link overBudget}); each round is logged at info with the
 * heap, the budget and how many left memory, and counted in {@link PassivationCounts.memory}.
 * One piece for both kinds of node: the BullMQ transport gives its entity cache (a passivated
 * entity comes back from Redis, its timers woken by the timer index), the embedded node's entity
 * host its processes (one comes back from the memory store, its timers woken by the host).
 */
export class MemoryPressure {
  #running = false;

  constructor(
    private readonly options: {
      readonly budget: number;
      /** The entities in memory now. */
      readonly residents: () => Iterable<PressuredEntity>;
      readonly passivate: (address: EntityAddress) => Promise<boolean> | boolean;
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
      const { budget, passivate, counts, logger } = this.options;
      const heapUsed = (this.options.heapUsed ?? (() => process.memoryUsage().heapUsed))();
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, overBudget chooses none within the budget; returning here spares listing the residents
      if (heapUsed <= budget) return 0;
      const residents = [...this.options.residents()];
      const chosen = overBudget(residents, heapUsed, budget);
      if (chosen.length === 0) return 0;
      let passivated = 0;
      for (const entity of chosen) if (await passivate(entity.address)) passivated++;
      counts.memory += passivated;
      logger.info(
        { heapUsedMb: mb(heapUsed), heapBudgetMb: mb(budget), residents: residents.length, passivated, passivatedForMemory: counts.memory },
        'heap over its budget: passivated the least recently used idle entities',
      );
      return passivated;
    } finally {
      this.#running = false;
    }
  }
}

const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
