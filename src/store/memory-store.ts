import type { EntityAddress } from '../runtime/entity.ts';
import type { PersistedActorState } from '../runtime/persisted-state.ts';
import type { ActorStore, SaveResult, StoredActor } from './actor-store.ts';
import type { RecordReader, RecordRequest } from './entity-records.ts';
import { JournalMismatchError, splitJournal, type JournalReader } from './journal.ts';

/**
 * Actor states in this process's memory: the embedded node's store, and the tests'. Synchronous
 * underneath (`get`, `put`), so an entity host can restore from it inside a delivery.
 *
 * States and journal entries are kept as JSON text, as Redis keeps them: a customer's committed
 * states cost about a third of the heap they took as deep-copied objects (see README, Memory),
 * what is stored cannot change when a live context does, and what comes back is what a durable
 * store would give back (JSON data, nothing JSON would not keep).
 *
 * Each entity may have a journal (see `journal.ts`): a state handed over with `journal` entries
 * appends them in the same step as it is stored, after the same checks (version, and the journal
 * ending where the state's `journalLength` says).
 */
export class MemoryStore implements ActorStore, JournalReader, RecordReader {
  readonly #states = new Map<string, { readonly text: string; readonly version: number }>();
  readonly #journals = new Map<string, string[]>();
  /** Each entity's keyed records (`entity-records.ts`), written with its state. */
  readonly #records = new Map<string, Map<string, unknown>>();

  /** The stored state, parsed on each read (a fresh copy: the caller may change it). */
  get(address: EntityAddress): StoredActor | undefined {
    const stored = this.#states.get(keyOf(address));
    return stored && { version: stored.version, state: JSON.parse(stored.text) as PersistedActorState };
  }

  /** The stored version (0: nothing stored), without reading the state. */
  versionOf(address: EntityAddress): number {
    return this.#states.get(keyOf(address))?.version ?? 0;
  }

  put(address: EntityAddress, state: PersistedActorState, expectedVersion: number): SaveResult {
    const key = keyOf(address);
    const current = this.#states.get(key)?.version ?? 0;
    if (current !== expectedVersion) return { ok: false, conflict: true, version: current };
    this.#write(key, state, current + 1);
    return { ok: true, version: current + 1 };
  }

  /**
   * Saves without a version check: for the single writer of the embedded node. Throws
   * {@link JournalMismatchError} (storing nothing) when the journal would not end where the
   * state says: entries were lost or given twice.
   */
  set(address: EntityAddress, state: PersistedActorState): void {
    const key = keyOf(address);
    this.#write(key, state, (this.#states.get(key)?.version ?? 0) + 1);
  }

  #write(key: string, committed: PersistedActorState, version: number): void {
    const { state, entries, records } = splitJournal(committed);
    const journal = this.#journals.get(key);
    const length = journal?.length ?? 0;
    const expected = state.journalLength ?? 0;
    if (length + entries.length !== expected) throw new JournalMismatchError(key, expected, length + entries.length);
    // Text, not objects: what is stored must not change when the live actor's context does.
    const text = flat(JSON.stringify(state));
    const lines = entries.map((entry) => flat(JSON.stringify(entry)));
    if (lines.length > 0) {
      if (journal) journal.push(...lines);
      else this.#journals.set(key, lines);
    }
    for (const field in records) {
      let held = this.#records.get(key);
      if (!held) this.#records.set(key, (held = new Map()));
      held.set(field, structuredClone(records[field]));
    }
    this.#states.set(key, { text, version });
  }

  /** The entity's record under `field` (a copy), `undefined` when there is none. Synchronous. */
  record(address: EntityAddress, field: string): unknown {
    const value = this.#records.get(keyOf(address))?.get(field);
    return value === undefined ? undefined : structuredClone(value);
  }

  async readRecords(requests: readonly RecordRequest[]): Promise<unknown[]> {
    return requests.map(({ address, key }) => this.record(address, key));
  }

  /** All the entity's records (copies), field → value: tools and tests. */
  allRecords(address: EntityAddress): Record<string, unknown> {
    return structuredClone(Object.fromEntries(this.#records.get(keyOf(address)) ?? []));
  }

  /** How many records the entity has. */
  recordCount(address: EntityAddress): number {
    return this.#records.get(keyOf(address))?.size ?? 0;
  }

  async readJournal(address: EntityAddress, start = 0, end = -1): Promise<unknown[]> {
    return this.journalOf(address, start, end);
  }

  async journalLength(address: EntityAddress): Promise<number> {
    return this.#journals.get(keyOf(address))?.length ?? 0;
  }

  /** {@link readJournal}, synchronous (parsed copies: the stored entries never change). */
  journalOf(address: EntityAddress, start = 0, end = -1): unknown[] {
    const journal = this.#journals.get(keyOf(address)) ?? [];
    const from = start < 0 ? Math.max(0, journal.length + start) : start;
    const to = end < 0 ? journal.length + end : Math.min(end, journal.length - 1);
    return journal.slice(from, to + 1).map((line) => JSON.parse(line) as unknown);
  }

  async load(address: EntityAddress): Promise<StoredActor | undefined> {
    return this.get(address);
  }

  async save(address: EntityAddress, state: PersistedActorState, expectedVersion: number): Promise<SaveResult> {
    return this.put(address, state, expectedVersion);
  }

  /** Removes the entity's state; its journal and records stay (history is never dropped, see `journal.ts`). */
  async delete(address: EntityAddress): Promise<void> {
    this.#states.delete(keyOf(address));
  }

  /** The keys of the stored entities of one kind (e.g. every customer with a Receipts state). */
  keys(entity: string): string[] {
    const keys: string[] = [];
    for (const key of this.#states.keys()) {
      const [kind, entityKey] = JSON.parse(key) as [string, string];
      if (kind === entity) keys.push(entityKey);
    }
    return keys;
  }

  get size(): number {
    return this.#states.size;
  }
}

/**
 * The same text as one flat string: V8 builds `JSON.stringify`'s result as a tree of pieces (a
 * cons string), which holds about twice the heap of the flat text for as long as it is kept. A
 * numeric conversion makes V8 flatten it in place (the trick of the `flatstr` package).
 */
function flat(text: string): string {
  void Number(text);
  return text;
}

function keyOf(address: EntityAddress): string {
  return JSON.stringify([address.entity, address.key]);
}
