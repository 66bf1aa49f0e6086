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
  /**
   * By kind, then by key, one entry per entity for its state, journal and records: three maps
   * keyed by a built name cost two more name strings and map slots per entity (about 100 bytes
   * each), and the lookup reuses the address's own strings.
   */
  readonly #byKind = new Map<string, Map<string, Entry>>();
  #size = 0;

  #entry(address: EntityAddress): Entry | undefined {
    return this.#byKind.get(address.entity)?.get(address.key);
  }

  #entryFor(address: EntityAddress): Entry {
    let entries = this.#byKind.get(address.entity);
    if (!entries) this.#byKind.set(address.entity, (entries = new Map()));
    let entry = entries.get(address.key);
    if (!entry) entries.set(address.key, (entry = new Entry()));
    return entry;
  }

  /** The stored state, parsed on each read (a fresh copy: the caller may change it). */
  get(address: EntityAddress): StoredActor | undefined {
    const stored = this.#entry(address);
    return stored?.text === undefined ? undefined : { version: stored.version, state: JSON.parse(stored.text) as PersistedActorState };
  }

  /** The stored version (0: nothing stored), without reading the state. */
  versionOf(address: EntityAddress): number {
    return this.#entry(address)?.version ?? 0;
  }

  put(address: EntityAddress, state: PersistedActorState, expectedVersion: number): SaveResult {
    const current = this.versionOf(address);
    if (current !== expectedVersion) return { ok: false, conflict: true, version: current };
    this.#write(address, state, current + 1);
    return { ok: true, version: current + 1 };
  }

  /**
   * Saves without a version check: for the single writer of the embedded node. Throws
   * {@link JournalMismatchError} (storing nothing) when the journal would not end where the
   * state says: entries were lost or given twice.
   */
  set(address: EntityAddress, state: PersistedActorState): void {
    this.#write(address, state, this.versionOf(address) + 1);
  }

  #write(address: EntityAddress, committed: PersistedActorState, version: number): void {
    const { state, entries, records } = splitJournal(committed);
    const length = this.#entry(address)?.journal?.length ?? 0;
    const expected = state.journalLength ?? 0;
    if (length + entries.length !== expected) throw new JournalMismatchError(keyOf(address), expected, length + entries.length);
    // Text, not objects: what is stored must not change when the live actor's context does.
    const text = flat(JSON.stringify(state));
    const entry = this.#entryFor(address);
    if (entries.length > 0) (entry.journal ??= []).push(...entries.map((line) => flat(JSON.stringify(line))));
    for (const field in records) {
      const value = records[field];
      // A record is JSON data (what Redis keeps), so text too: a fraction of its objects' heap.
      if (value !== undefined) entry.setRecord(field, flat(JSON.stringify(value)));
    }
    if (entry.text === undefined) this.#size++;
    entry.text = text;
    entry.version = version;
  }

  /** The entity's record under `field` (a copy), `undefined` when there is none. Synchronous. */
  record(address: EntityAddress, field: string): unknown {
    const text = this.#entry(address)?.record(field);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async readRecords(requests: readonly RecordRequest[]): Promise<unknown[]> {
    return requests.map(({ address, key }) => this.record(address, key));
  }

  /** All the entity's records (copies), field → value: tools and tests. */
  allRecords(address: EntityAddress): Record<string, unknown> {
    const all: Record<string, unknown> = {};
    for (const [field, text] of this.#entry(address)?.recordEntries() ?? []) all[field] = JSON.parse(text) as unknown;
    return all;
  }

  /** How many records the entity has. */
  recordCount(address: EntityAddress): number {
    return this.#entry(address)?.recordCount() ?? 0;
  }

  async readJournal(address: EntityAddress, start = 0, end = -1): Promise<unknown[]> {
    return this.journalOf(address, start, end);
  }

  async journalLength(address: EntityAddress): Promise<number> {
    return this.#entry(address)?.journal?.length ?? 0;
  }

  /** {@link readJournal}, synchronous (parsed copies: the stored entries never change). */
  journalOf(address: EntityAddress, start = 0, end = -1): unknown[] {
    const journal = this.#entry(address)?.journal ?? [];
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
    const entry = this.#entry(address);
    if (entry?.text === undefined) return;
    entry.text = undefined;
    entry.version = 0;
    this.#size--;
  }

  /** The keys of the stored entities of one kind (e.g. every customer with a Receipts state). */
  keys(entity: string): string[] {
    const keys: string[] = [];
    for (const [key, entry] of this.#byKind.get(entity) ?? []) if (entry.text !== undefined) keys.push(key);
    return keys;
  }

  get size(): number {
    return this.#size;
  }
}

/** Records an entity keeps as a flat list of field/text pairs before they move to a `Map`. */
const FEW_RECORDS = 8;

/** One entity's stored state (`undefined` once deleted), version, journal lines and records, all as JSON text. */
class Entry {
  text: string | undefined = undefined;
  version = 0;
  journal: string[] | undefined = undefined;
  /**
   * Field → text: a few as `[field, text, field, text…]` (most entities have one or two, and a
   * `Map` with one entry costs about 220 bytes against 64), more in a `Map`.
   */
  #records: string[] | Map<string, string> | undefined = undefined;

  record(field: string): string | undefined {
    const records = this.#records;
    if (records === undefined || records instanceof Map) return records?.get(field);
    for (let i = 0; i < records.length; i += 2) if (records[i] === field) return records[i + 1];
    return undefined;
  }

  setRecord(field: string, text: string): void {
    const records = this.#records;
    if (records instanceof Map) return void records.set(field, text);
    if (records === undefined) return void (this.#records = [field, text]);
    for (let i = 0; i < records.length; i += 2) if (records[i] === field) return void (records[i + 1] = text);
    // A new array of the exact length: `push` would grow the backing store to 17 slots or more.
    this.#records = records.length < FEW_RECORDS * 2 ? [...records, field, text] : new Map([...pairs(records), [field, text]]);
  }

  recordCount(): number {
    const records = this.#records;
    return records === undefined ? 0 : records instanceof Map ? records.size : records.length / 2;
  }

  recordEntries(): Iterable<[string, string]> {
    const records = this.#records;
    return records === undefined ? [] : records instanceof Map ? records : pairs(records);
  }
}

function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
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
