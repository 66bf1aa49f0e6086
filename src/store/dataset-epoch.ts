import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DatasetRolledBackError, type EpochReading } from './redis-errors.ts';
import type { GovernorCommands } from './redis-scripts.ts';

/**
 * A node's watch on the Redis dataset going backwards.
 *
 * Redis acknowledges a write before it is on disk (with `appendfsync everysec`, up to about a
 * second before), and a restored backup or a promoted replica is older than what was acknowledged.
 * After such a loss the dataset still looks valid: the handled-message records of the lost
 * commits are gone with them, so their events would be decided a second time.
 *
 * One sentinel hash per prefix (`RedisKeys.epoch`) holds a random dataset `id` and a commit
 * `seq`uence that `commit-n.lua` increments with every commit, in the same script (no round trip
 * added). Each node remembers the dataset id it opened and the highest sequence it has seen (from
 * its commits and from a read at every heartbeat); Redis only ever moves the sequence forward, so
 * a lower one, another id or no sentinel at all means the dataset lost writes this node saw
 * acknowledged. The commit script refuses to write on such a dataset, so the check and the commit
 * are one atomic step. The node that finds it records a halt in the sentinel, which every other
 * node's next commit refuses too: a node whose own mark was lower would otherwise decide again
 * what the lost commits had decided.
 *
 * What it cannot see: a loss while no node was running (every mark is in memory), or writes lost
 * after a node's last look at the sequence that no node had seen. With `appendfsync always` Redis
 * acknowledges nothing before it is on disk, and a crash loses nothing.
 */
export class DatasetEpoch {
  readonly key: string;
  #id = '';
  #seen = 0;

  constructor(key: string) {
    this.key = key;
  }

  /** The dataset id opened at start (`''` before {@link DatasetEpoch.open}). */
  get id(): string {
    return this.#id;
  }

  /** The highest commit sequence this node has seen. */
  get seen(): number {
    return this.#seen;
  }

  /**
   * At a node's start: creates the sentinel on a fresh dataset (`created`), else reads it.
   * @throws DatasetRolledBackError when a node has halted the dataset.
   */
  async open(redis: Redis & GovernorCommands): Promise<EpochReading & { created: boolean }> {
    const [id, seq, halted, created] = await redis.govOpenEpoch(this.key, randomBytes(8).toString('hex'));
    const found = { id: String(id), seq: Number(seq), halted: String(halted) };
    if (found.halted !== '') throw new DatasetRolledBackError(this.key, { id: found.id, seq: found.seq }, found);
    this.#id = found.id;
    this.#seen = found.seq;
    return { ...found, created: Number(created) === 1 };
  }

  /** A commit's sequence (or a read's): the mark only rises. */
  observe(seq: number): void {
    if (seq > this.#seen) this.#seen = seq;
  }

  /**
   * What a reading means: `undefined` when the dataset is the one seen, not behind it and not
   * halted. `mark` is the mark when the read was sent: the mark may rise while the read is under
   * way (a commit answered on another connection), and only what was seen before the read was
   * sent must be in what it reads.
   */
  judge(found: EpochReading, mark: number = this.#seen): DatasetRolledBackError | undefined {
    if (found.halted !== '' || found.id !== this.#id || found.seq < mark) {
      return new DatasetRolledBackError(this.key, { id: this.#id, seq: mark }, found);
    }
    this.observe(found.seq);
    return undefined;
  }

  /** Reads the sentinel and judges it (at each heartbeat: an idle node finds a loss too). */
  async check(redis: Redis): Promise<DatasetRolledBackError | undefined> {
    const mark = this.#seen;
    const [id, seq, halted] = await redis.hmget(this.key, 'id', 'seq', 'halted');
    return this.judge({ id: id ?? '', seq: Number(seq ?? 0), halted: halted ?? '' }, mark);
  }

  /**
   * Records the halt in the sentinel (once: the first finder's record stays), so every node's
   * next commit is refused and no node starts until an operator removes the `halted` field.
   */
  async halt(redis: Redis, error: DatasetRolledBackError, node: string, at: number): Promise<void> {
    const record = `found by node ${node} at ${new Date(at).toISOString()}: it had seen commit ${error.seen.seq} of dataset ${error.seen.id}, ` +
      `Redis had ${error.found.id === '' ? 'no sentinel' : `commit ${error.found.seq} of dataset ${error.found.id}`}`;
    await redis.hsetnx(this.key, 'halted', record);
  }
}
