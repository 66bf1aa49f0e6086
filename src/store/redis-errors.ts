import { GovernorError } from '../errors.ts';
import { PERSISTED_STATE_VERSION } from '../runtime/persisted-state.ts';

/**
 * A stored actor state this runtime cannot read: written under another schema version (a newer
 * Governor, or an old one whose migration is missing) or not a persisted state at all.
 */
export class StoredStateError extends GovernorError {
  constructor(
    code: 'STORED_STATE_VERSION' | 'STORED_STATE_CORRUPT' | 'JOURNAL_MISMATCH' | 'RECORD_UNREADABLE',
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  static version(key: string, found: unknown): StoredStateError {
    return new StoredStateError(
      'STORED_STATE_VERSION',
      key,
      `the state stored at ${key} has schema version ${JSON.stringify(found)}, but this Governor reads version ` +
        `${PERSISTED_STATE_VERSION}: run the Governor version that wrote it, or migrate the stored states first`,
    );
  }

  static corrupt(key: string, problem: string, cause?: unknown): StoredStateError {
    return new StoredStateError(
      'STORED_STATE_CORRUPT',
      key,
      `the state stored at ${key} is not a Governor actor state (${problem}): delete the key or restore it from a backup`,
      { cause },
    );
  }
}

/** What a node read of the dataset sentinel (`RedisKeys.epoch`). */
export interface EpochReading {
  /** The dataset id; `''` when the sentinel has none (deleted, flushed, a Redis that lost it). */
  readonly id: string;
  /** The commit sequence. */
  readonly seq: number;
  /** The halt record a node left (JSON), `''` when the dataset is not halted. */
  readonly halted: string;
}

/**
 * The Redis dataset went backwards: a node had seen commit sequence `seen.seq` of dataset
 * `seen.id`, and Redis now has less (a crash that lost its last writes, a restore from an older
 * AOF or RDB, a failover to a replica that lagged, a `FLUSHALL`), or a node already found that
 * and halted the dataset. Decisions Redis acknowledged are gone, and so are the records that make
 * a redelivered event a duplicate: taking more work would decide events a second time. The node
 * stops instead, and so does every node of the prefix at its next commit, until an operator has
 * looked at what was lost and clears the halt (`HDEL <key> halted`).
 */
export class DatasetRolledBackError extends GovernorError {
  constructor(
    readonly key: string,
    readonly seen: { readonly id: string; readonly seq: number },
    readonly found: EpochReading,
  ) {
    super('DATASET_ROLLED_BACK', describeRollback(key, seen, found));
  }
}

function describeRollback(key: string, seen: { id: string; seq: number }, found: EpochReading): string {
  const resume =
    `look at what was lost (events acknowledged since then are undecided or gone), then let the nodes take work again: ` +
    `redis-cli HDEL '${key}' halted (and the same field wherever else a node recorded the halt: the fleet sentinel \`<prefix>:g:{g}:epoch\` ` +
    `and the partitions' copies \`<prefix>:g:{p.<partition>}:e\`)`;
  if (found.halted !== '') {
    return `the Redis dataset was halted after it went backwards (${found.halted}): nothing is taken until an operator resumes it; ${resume}`;
  }
  const what =
    found.id === ''
      ? `Redis has no dataset sentinel at ${key} any more (flushed, deleted, or a Redis with none of this data)`
      : found.id !== seen.id
        ? `Redis has another dataset (id ${found.id}, commit ${found.seq}) at ${key}`
        : `Redis is back at commit ${found.seq}`;
  return (
    `the Redis dataset went backwards: this node saw commit ${seen.seq} of dataset ${seen.id}, but ${what}; ` +
    `writes Redis acknowledged were lost (a crash with appendfsync everysec or no, an older AOF/RDB restored, a failover to a lagging replica). ` +
    `The node stopped taking work so that no event is decided twice; ${resume}`
  );
}
