import { getHeapStatistics } from 'node:v8';
import { GovernorError } from '../errors.ts';

/** `GOVERNOR_HEAP_BUDGET_MB`: the heap budget of a node, in MiB (see {@link resolveHeapBudget}). */
export const HEAP_BUDGET_ENV = 'GOVERNOR_HEAP_BUDGET_MB';

/** The default budget's share of V8's heap limit (`--max-old-space-size`). */
export const DEFAULT_HEAP_BUDGET_SHARE = 0.6;

/** A heap budget that is not a positive number of MiB. */
export class InvalidHeapBudgetError extends GovernorError {
  constructor(
    readonly source: string,
    readonly value: unknown,
  ) {
    super(
      'INVALID_HEAP_BUDGET',
      `${source} must be a positive number of MiB (e.g. 512), got ${JSON.stringify(value)}: it is the heap above which a node passivates its least recently used idle entities`,
    );
  }
}

/**
 * The heap budget in bytes: the option (MiB), else `GOVERNOR_HEAP_BUDGET_MB`, else 60 % of V8's
 * heap limit — room left for a burst of loads, commits and GC before the process would die of
 * an out-of-memory error. A bad value is refused with where it came from (`option` names the
 * option, e.g. `BullMQ transport option heapBudgetMb`), never ignored. One budget for both
 * kinds of node: the BullMQ transport's and the embedded node's entity host.
 */
export function resolveHeapBudget(optionMb: number | undefined, env: NodeJS.ProcessEnv = process.env, option = 'option heapBudgetMb'): number {
  if (optionMb !== undefined) return mebibytes(option, optionMb);
  const fromEnv = env[HEAP_BUDGET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return mebibytes(HEAP_BUDGET_ENV, Number(fromEnv), fromEnv);
  return Math.round(getHeapStatistics().heap_size_limit * DEFAULT_HEAP_BUDGET_SHARE);
}

function mebibytes(source: string, value: number, shown: unknown = value): number {
  // Number.isFinite is false for anything that is not a number.
  if (!Number.isFinite(value) || value <= 0) throw new InvalidHeapBudgetError(source, shown);
  return Math.round(value * 1_048_576);
}

/** What {@link overBudget} needs of an entity: when it was last used, and whether memory is ahead of its commit. */
export interface ResidentEntity {
  readonly lastUsed: number;
  readonly dirty: boolean;
}

/**
 * The entities to passivate for a heap of `heapUsed` bytes against `budget`: none under the
 * budget; over it, the share of the residents the excess is of the heap (each resident taken to
 * cost the same, the excess plus a tenth for the heap that is not theirs), at least one, least
 * recently used first, and only idle ones — an entity whose memory is ahead of its commit
 * (`dirty`) stays until it is committed, so nothing it did is lost.
 */
export function overBudget<T extends ResidentEntity>(residents: Iterable<T>, heapUsed: number, budget: number): T[] {
  if (heapUsed <= budget) return [];
  const idle = [...residents].filter((entity) => !entity.dirty);
  const share = Math.min(1, ((heapUsed - budget) / heapUsed) * 1.1);
  const count = Math.max(1, Math.ceil(idle.length * share));
  return idle.sort((a, b) => a.lastUsed - b.lastUsed).slice(0, count);
}
