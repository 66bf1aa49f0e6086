import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EntityAddress } from '../runtime/entity.ts';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../runtime/persisted-state.ts';
import type { ActorStore, SaveResult, StoredActor } from './actor-store.ts';
import type { DatasetEpoch } from './dataset-epoch.ts';
import { decodeRecord, RecordUnreadableError, type RecordReader, type RecordRequest } from './entity-records.ts';
import { JournalMismatchError, splitJournal, type JournalReader } from './journal.ts';
import { DatasetRolledBackError, StoredStateError } from './redis-errors.ts';
import { RedisKeys, type KeyLayoutOptions, type PartitionId } from './redis-keys.ts';
import { withScripts, type GovernorCommands } from './redis-scripts.ts';
import { pipelinedBy } from './slot-pipelines.ts';

/** @default 10_000 — message ids remembered per entity to recognise a redelivery. */
export const DEFAULT_HANDLED_LIMIT = 10_000;

export interface RedisStoreOptions extends KeyLayoutOptions {
  /** The key prefix, shared with the BullMQ transport. @default 'governor' */
  prefix?: string;
  /** The key names, when the caller has them (else built from `prefix`, `partitions` and `placement`). */
  keys?: RedisKeys;
  /** How many handled message ids to keep per entity. @default 10_000 */
  handledLimit?: number;
  /**
   * The node's watch on the dataset going backwards, opened: commits are refused on a dataset
   * behind it, and count up its sequence. @default none (commits unguarded: tools and tests)
   */
  epoch?: DatasetEpoch;
}

/** One entity's change in a {@link CommitBatch}. */
export interface CommitEntry {
  readonly address: EntityAddress;
  /** `keys.state(address)`, when the caller keeps it (it is built once per entity, not per commit). */
  readonly stateKey?: string;
  /** The version the writer read (0: new). */
  readonly expectedVersion: number;
  /** The new state; `null` deletes the entity (it stopped). */
  readonly state: PersistedActorState | null;
  /**
   * The state stored at `expectedVersion` as this store handed it out (by {@link RedisStore.loadMany}
   * or an earlier commit's entry), when the caller holds it: a new state that serializes the same,
   * with nothing to append to the journal, is kept as it is stored (checked at its version, not
   * rewritten, its version not bumped). @default none (always written)
   */
  readonly committed?: PersistedActorState;
}

/** Everything one message (or one flush) changed on a partition, committed at once. */
export interface CommitBatch {
  readonly partition: PartitionId;
  /** The node that must hold the partition's lease for the commit to happen (fencing). */
  readonly node: string;
  /** The message handled and its target entity; absent for a flush of changes made between messages. */
  readonly message?: {
    readonly id: string;
    readonly target: EntityAddress;
    readonly handledKey?: string;
    /** Its score in the handled set (ordering only): the target's version after this commit. @default 1 */
    readonly score?: number;
  };
  readonly entries: readonly CommitEntry[];
  /** Messages sent, serialized, in send order: appended to the partition's outbox. */
  readonly outbox: readonly string[];
  /** Entries at the head of the outbox already relayed, dropped by this commit. */
  readonly relayed: number;
  /**
   * The BullMQ job completed right behind this commit: when the commit does not happen, its
   * lock is deleted so that the completion fails and the job comes back.
   */
  readonly job?: { readonly queue: string; readonly id: string; readonly token: string };
}

export type CommitResult =
  | { readonly status: 'ok'; readonly versions: readonly number[] }
  | { readonly status: 'duplicate' }
  | {
      readonly status: 'conflict';
      readonly index: number;
      readonly version: number;
      /** Set when the conflict is the journal's: entity `index`'s journal has this many entries, not what its state counts. */
      readonly journalLength?: number;
      /** Set when the conflict is the records': entity `index`'s records key holds this type, not a hash. */
      readonly recordsType?: string;
    }
  | { readonly status: 'lost'; readonly holder: string }
  /** The dataset went backwards (see {@link DatasetEpoch}): nothing was written. */
  | { readonly status: 'rolledBack'; readonly error: DatasetRolledBackError };

/**
 * Actor states in Redis: a hash per entity with its version and its {@link PersistedActorState}
 * as JSON, saved only at the version the writer read (optimistic concurrency), refused on load
 * when written under another schema version.
 *
 * Beside the {@link ActorStore} interface it holds what the BullMQ transport commits with each
 * message: the handled-message records (the idempotency keys of redelivered jobs), the entities'
 * journals (a list per entity, see `journal.ts`) and the per-partition outbox of messages sent,
 * all written by one script ({@link RedisStore.commit}).
 *
 * @example
 * const store = new RedisStore(new Redis(url), { prefix: 'governor' });
 * const saved = await store.save({ entity: 'Billing', key: 'c-1' }, state, 0); // { ok: true, version: 1 }
 */
export class RedisStore implements ActorStore, JournalReader, RecordReader {
  readonly keys: RedisKeys;
  readonly handledLimit: number;
  readonly #redis: Redis & GovernorCommands;
  readonly #epoch: DatasetEpoch | undefined;
  /**
   * The digest of the JSON stored for each state object this store handed out (loaded, or
   * committed in an entry): what an entry's `committed` is compared with. A digest, not the text:
   * a node holds many entities, and the text would double what each costs it.
   */
  readonly #storedDigests = new WeakMap<PersistedActorState, string>();

  constructor(redis: Redis, options: RedisStoreOptions = {}) {
    this.#redis = withScripts(redis);
    this.keys = options.keys ?? new RedisKeys(options.prefix ?? 'governor', options);
    this.handledLimit = options.handledLimit ?? DEFAULT_HANDLED_LIMIT;
    this.#epoch = options.epoch;
  }

  async load(address: EntityAddress): Promise<StoredActor | undefined> {
    const [stored] = await this.loadMany([address]);
    return stored;
  }

  /**
   * Loads several entities in one round trip; throws {@link StoredStateError} for an unreadable
   * one, {@link JournalMismatchError} for one whose journal does not have the entries its state counts.
   */
  async loadMany(addresses: readonly EntityAddress[]): Promise<(StoredActor | undefined)[]> {
    if (addresses.length === 0) return [];
    const keys = addresses.map((address) => this.keys.state(address));
    // One pipeline per partition: on Redis Cluster a pipeline must stay on one node.
    const replies = await pipelinedBy(
      this.#redis,
      addresses,
      (address) => this.keys.partitionOf(address),
      (pipeline, address) => pipeline.hmget(this.keys.state(address), 'v', 'd').llen(this.keys.journal(address)),
      2,
    );
    return addresses.map((address, i) => {
      const [error, reply] = replies[2 * i]!;
      const [lengthError, length] = replies[2 * i + 1]!;
      if (error) throw error;
      if (lengthError) throw lengthError;
      const [version, data] = reply as [string | null, string | null];
      if (version === null || data === null) {
        // A fresh entity over a journal left by a deleted one would re-count from 0: refused.
        if (Number(length) > 0) throw new JournalMismatchError(this.keys.journal(address), 0, Number(length));
        return undefined;
      }
      const state = decodeState(keys[i]!, data);
      if ((state.journalLength ?? 0) !== Number(length)) throw new JournalMismatchError(this.keys.journal(address), state.journalLength ?? 0, Number(length));
      this.#storedDigests.set(state, digest(data));
      return { version: Number(version), state };
    });
  }

  async readJournal(address: EntityAddress, start = 0, end = -1): Promise<unknown[]> {
    const texts = await this.#redis.lrange(this.keys.journal(address), start, end);
    return texts.map((text, i) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw StoredStateError.corrupt(`${this.keys.journal(address)}[${start + i}]`, 'a journal entry that is not JSON', error);
      }
    });
  }

  journalLength(address: EntityAddress): Promise<number> {
    return this.#redis.llen(this.keys.journal(address));
  }

  /**
   * Reads keyed records (`entity-records.ts`) in one round trip, one HMGET per entity whatever
   * the number of its keys (a command costs Redis more than a field does); throws
   * {@link RecordUnreadableError} for one that is there but cannot be read (a records key of
   * another type, a value that is not JSON): never taken for "no record".
   */
  async readRecords(requests: readonly RecordRequest[]): Promise<unknown[]> {
    if (requests.length === 0) return [];
    // Each entity's records hash, with the requests (by index) that read a field of it.
    const hashes = new Map<string, { address: EntityAddress; indexes: number[] }>();
    requests.forEach(({ address }, i) => {
      const key = this.keys.records(address);
      const hash = hashes.get(key);
      if (hash) hash.indexes.push(i);
      else hashes.set(key, { address, indexes: [i] });
    });
    const reads = [...hashes];
    // One pipeline per partition: on Redis Cluster a pipeline must stay on one node.
    const replies = await pipelinedBy(
      this.#redis,
      reads,
      ([, { address }]) => this.keys.partitionOf(address),
      (pipeline, [key, { indexes }]) => pipeline.hmget(key, ...indexes.map((i) => requests[i]!.key)),
    );
    const values = new Array<unknown>(requests.length);
    reads.forEach(([key, { indexes }], r) => {
      const [error, texts] = replies[r]!;
      if (error) {
        if (/WRONGTYPE/.test(error.message)) throw new RecordUnreadableError(key, requests[indexes[0]!]!.key, 'the key holds another type than a hash', error);
        throw error;
      }
      indexes.forEach((i, j) => {
        const text = (texts as (string | null)[])[j];
        values[i] = text === null || text === undefined ? undefined : decodeRecord(key, requests[i]!.key, text);
      });
    });
    return values;
  }

  /** Saves a state alone (tools, tests): one with journal entries to append goes through {@link commit}. */
  async save(address: EntityAddress, state: PersistedActorState, expectedVersion: number): Promise<SaveResult> {
    if (state.journal !== undefined && state.journal.length > 0) {
      throw new TypeError('RedisStore.save cannot append journal entries: commit the state with its entries (RedisStore.commit)');
    }
    const [status, version] = await this.#redis.govSave(this.keys.state(address), expectedVersion, JSON.stringify(splitJournal(state).state));
    return status === 0 ? { ok: true, version } : { ok: false, conflict: true, version };
  }

  /** Removes the entity's state and its handled-message ids; its journal and keyed records stay (history is never dropped). */
  async delete(address: EntityAddress): Promise<void> {
    await this.#redis.del(this.keys.state(address), this.keys.handled(address));
  }

  /** Whether the entity has handled the message (within the last {@link RedisStore.handledLimit}). */
  async hasHandled(address: EntityAddress, messageId: string): Promise<boolean> {
    return (await this.#redis.zscore(this.keys.handled(address), messageId)) !== null;
  }

  /**
   * Commits a batch atomically (`commit-n.lua`): nothing is written unless this node holds the
   * partition's lease, the message was not handled before, every entity is at the version read,
   * and (with an `epoch`) the dataset has not gone backwards.
   */
  async commit(batch: CommitBatch): Promise<CommitResult> {
    const epoch = this.#epoch;
    if (epoch && !epoch.opened(batch.partition)) {
      try {
        await epoch.openPartition(this.#redis, batch.partition);
      } catch (error) {
        if (error instanceof DatasetRolledBackError) return { status: 'rolledBack', error };
        throw error;
      }
    }
    const keys = [
      this.keys.lease(batch.partition),
      this.keys.outbox(batch.partition),
      batch.message ? (batch.message.handledKey ?? this.keys.handled(batch.message.target)) : this.keys.outbox(batch.partition),
      batch.job ? this.keys.jobLock(batch.job.queue, batch.job.id) : this.keys.outbox(batch.partition),
    ];
    const args: (string | number)[] = [
      batch.node,
      batch.message?.id ?? '',
      batch.job?.token ?? '',
      this.handledLimit,
      batch.relayed,
      batch.message?.score ?? 1,
      batch.entries.length,
      epoch?.id ?? '',
      // The mark as sent: it may rise before the answer comes (see DatasetEpoch.judge).
      epoch?.seen(batch.partition) ?? 0,
    ];
    const mark = { id: epoch?.id ?? '', seq: epoch?.seen(batch.partition) ?? 0 };
    const journals: string[] = [];
    const records: string[] = [];
    // The digest of each entry's JSON as stored after this commit (`undefined`: deleted).
    const digests: (string | undefined)[] = [];
    for (const entry of batch.entries) {
      keys.push(entry.stateKey ?? this.keys.state(entry.address));
      const member = this.keys.timerMember(entry.address);
      if (entry.state === null) {
        args.push(entry.expectedVersion, '', '', 0, member, '', 0);
        digests.push(undefined);
      } else {
        const split = splitJournal(entry.state);
        const { state, entries } = split;
        const fields = Object.keys(split.records);
        const text = JSON.stringify(state);
        const textDigest = digest(text);
        const stored = entry.committed === undefined ? undefined : this.#storedDigests.get(entry.committed);
        // Unchanged: '=' keeps the stored state (commit-n.lua), and its bytes stay here.
        const kept = entries.length === 0 && stored === textDigest;
        const deadline = earliestDeadline(state);
        // No timer before (as stored: this store handed the state out) nor after: the timer index
        // has no entry to change, and a ZREM of nothing would cost Redis a command per commit.
        const timerless = stored !== undefined && deadline === undefined && earliestDeadline(entry.committed!) === undefined;
        args.push(entry.expectedVersion, kept ? '=' : text, state.journalLength ?? 0, entries.length, timerless ? '' : member, deadline ?? '', fields.length);
        digests.push(textDigest);
        for (const e of entries) journals.push(JSON.stringify(e));
        for (const field of fields) records.push(field, JSON.stringify(split.records[field] ?? null));
      }
    }
    keys.push(this.keys.partitionEpoch(batch.partition));
    for (const entry of batch.entries) keys.push(this.keys.journal(entry.address));
    keys.push(this.keys.timers(batch.partition));
    for (const entry of batch.entries) keys.push(this.keys.records(entry.address));
    for (const text of journals) args.push(text);
    for (const text of records) args.push(text);
    for (const message of batch.outbox) args.push(message);
    const reply = await this.#redis.govCommit(keys.length, ...keys, ...args);
    const n = batch.entries.length;
    switch (Number(reply[0])) {
      case 0:
        epoch?.observe(Number(reply[n + 1]), batch.partition);
        batch.entries.forEach((entry, i) => {
          if (entry.state !== null) this.#storedDigests.set(entry.state, digests[i]!);
        });
        return { status: 'ok', versions: reply.slice(1, n + 1).map(Number) };
      case 1:
        return { status: 'duplicate' };
      case 2:
        return { status: 'conflict', index: Number(reply[1]) - 1, version: Number(reply[2]) };
      case 5: {
        // Reloading the entity either finds the state the journal goes with, or refuses it loudly.
        const index = Number(reply[1]) - 1;
        return { status: 'conflict', index, version: batch.entries[index]!.expectedVersion, journalLength: Number(reply[2]) };
      }
      case 6: {
        // The records key was changed to another type after the delivery read it: a conflict, so
        // the entity is reloaded and its next read of the key refuses the message with the reason.
        const index = Number(reply[1]) - 1;
        return { status: 'conflict', index, version: batch.entries[index]!.expectedVersion, recordsType: String(reply[2]) };
      }
      case 3:
        return { status: 'lost', holder: String(reply[1] ?? '') };
      default: {
        // Only a guarded commit (with an epoch) is refused so.
        const found = { id: String(reply[1] ?? ''), seq: Number(reply[2] ?? 0), halted: String(reply[3] ?? '') };
        return { status: 'rolledBack', error: new DatasetRolledBackError(this.keys.partitionEpoch(batch.partition), mark, found) };
      }
    }
  }

  /**
   * The entities of a partition whose earliest timer is due by `now` (runtime-clock ms), by the
   * timer index the commits keep; at most `limit`, earliest first.
   */
  async dueEntities(partition: PartitionId, now: number, limit = 1_000): Promise<{ due: EntityAddress[]; unreadable: string[] }> {
    const members = await this.#redis.zrangebyscore(this.keys.timers(partition), '-inf', now, 'LIMIT', 0, limit);
    const due: EntityAddress[] = [];
    const unreadable: string[] = [];
    for (const member of members) {
      const address = this.keys.timerEntity(member);
      if (address) due.push(address);
      else unreadable.push(member);
    }
    return { due, unreadable };
  }

  /**
   * Takes members out of a partition's timer index: ones no commit wrote (unreadable), or entities
   * with nothing stored any more. Left in, they would be read again at every look and, a page of
   * them, keep the due ones behind them from ever being woken.
   */
  async forgetTimers(partition: PartitionId, members: readonly string[]): Promise<void> {
    if (members.length > 0) await this.#redis.zrem(this.keys.timers(partition), ...members);
  }

  /** The earliest timer deadline in a partition's index later than `after`; `undefined` when none. */
  async nextDeadline(partition: PartitionId, after: number): Promise<number | undefined> {
    const [, score] = await this.#redis.zrangebyscore(this.keys.timers(partition), `(${after}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return score === undefined ? undefined : Number(score);
  }

  /** The partition's committed messages not yet relayed, in order. */
  async readOutbox(partition: PartitionId): Promise<string[]> {
    return this.#redis.lrange(this.keys.outbox(partition), 0, -1);
  }

  /** Drops the first `count` entries of the partition's outbox (once relayed). */
  async trimOutbox(partition: PartitionId, count: number): Promise<void> {
    if (count > 0) await this.#redis.ltrim(this.keys.outbox(partition), count, -1);
  }
}

/** What tells two stored state texts apart without keeping them (sha256: a collision would keep a changed state unwritten). */
function digest(text: string): string {
  return hash('sha256', text, 'base64');
}

/** The deadline of the state's earliest timer (runtime-clock ms); `undefined` when it has none. */
export function earliestDeadline(state: PersistedActorState): number | undefined {
  let earliest: number | undefined;
  for (const timer of state.timers) if (earliest === undefined || timer.deadline < earliest) earliest = timer.deadline;
  return earliest;
}

/** Parses a stored state, refusing other schema versions with a message that says what to do. */
export function decodeState(key: string, data: string): PersistedActorState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (error) {
    throw StoredStateError.corrupt(key, 'not JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null) throw StoredStateError.corrupt(key, 'not an object');
  const state = parsed as Partial<PersistedActorState>;
  if (state.version !== PERSISTED_STATE_VERSION) throw StoredStateError.version(key, state.version);
  if (typeof state.machine !== 'string' || !Array.isArray(state.timers) || !Array.isArray(state.postponed)) {
    throw StoredStateError.corrupt(key, 'missing machine, timers or postponed');
  }
  return state as PersistedActorState;
}
