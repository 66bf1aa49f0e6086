import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DatasetRolledBackError, type EpochReading } from './redis-errors.ts';
import type { PartitionId } from './redis-keys.ts';
import type { GovernorCommands } from './redis-scripts.ts';

/**
 * A node's watch on the Redis dataset going backwards.
 *
 * Redis acknowledges a write before it is on disk (with `appendfsync everysec`, up to about a
 * second before), and a restored backup or a promoted replica is older than what was acknowledged.
 * After such a loss the dataset still looks valid: the handled-message records of the lost
 * commits are gone with them, so their events would be decided a second time.
 *
 * A fleet-wide sentinel hash (`RedisKeys.epoch`) holds a random dataset `id`. Each partition has
 * its own copy (`RedisKeys.partitionEpoch`, in the partition's hash tag) holding that id and a
 * commit `seq`uence that `commit-n.lua` increments with every commit of the partition, in the
 * same script (no round trip added). A copy per partition, not one sequence for all, because on
 * Redis Cluster a script can only touch one slot, and a commit's slot is its partition's; it is
 * also the sound unit there, as each shard can lose writes on its own (a failover to a lagging
 * replica rolls back one shard, not the others).
 *
 * Each node remembers the dataset id it opened and, per partition, the highest sequence it has
 * seen (from its commits and from a read at every heartbeat); Redis only ever moves a sequence
 * forward, so a lower one, another id or no copy at all means the dataset lost writes this node
 * saw acknowledged. The commit script refuses to write on such a partition, so the check and the
 * commit are one atomic step. A partition's copy is created (at the first commit on it, see
 * {@link DatasetEpoch.openPartition}) only if the fleet sentinel has no `opened:<partition>`
 * record: a copy that vanished after it was made is a loss, not a fresh partition.
 *
 * The node that finds a loss records a halt in the fleet sentinel and in the copy of every
 * partition it has opened; every node reads the fleet sentinel at each heartbeat and before it
 * opens a partition, so the whole fleet stops: a node whose own mark was lower would otherwise
 * decide again what the lost commits had decided.
 *
 * What it cannot see: a loss while no node was running (every mark is in memory), writes lost
 * after a node's last look at a sequence that no node had seen, or (for one heartbeat) a commit on
 * a partition the halting node never opened. With `appendfsync always` Redis acknowledges nothing
 * before it is on disk, and a crash loses nothing.
 */
export class DatasetEpoch {
  readonly key: string;
  readonly #partitionKey: (partition: PartitionId) => string;
  #id = '';
  /** Per opened partition: the highest commit sequence seen. */
  readonly #marks = new Map<PartitionId, number>();
  readonly #opening = new Map<PartitionId, Promise<void>>();

  /**
   * @param key the fleet sentinel (`RedisKeys.epoch`)
   * @param partitionKey a partition's copy (`(p) => keys.partitionEpoch(p)`)
   */
  constructor(key: string, partitionKey: (partition: PartitionId) => string) {
    this.key = key;
    this.#partitionKey = partitionKey;
  }

  /** The dataset id opened at start (`''` before {@link DatasetEpoch.open}). */
  get id(): string {
    return this.#id;
  }

  /** The highest commit sequence this node has seen on a partition (0 before it is opened). */
  seen(partition: PartitionId): number {
    return this.#marks.get(partition) ?? 0;
  }

  /** Whether the partition's copy was opened (a commit may be sent with its mark). */
  opened(partition: PartitionId): boolean {
    return this.#marks.has(partition);
  }

  /**
   * At a node's start: creates the fleet sentinel on a fresh dataset (`created`), else reads it.
   * @throws DatasetRolledBackError when a node has halted the dataset.
   */
  async open(redis: Redis & GovernorCommands): Promise<{ id: string; halted: string; created: boolean }> {
    const [id, , halted, created] = await redis.govOpenEpoch(this.key, randomBytes(8).toString('hex'), '');
    const found = { id: String(id), seq: 0, halted: String(halted) };
    if (found.halted !== '') throw new DatasetRolledBackError(this.key, { id: found.id, seq: 0 }, found);
    this.#id = found.id;
    return { id: found.id, halted: found.halted, created: Number(created) === 1 };
  }

  /**
   * Before the first commit on a partition: reads its copy of the sentinel (and judges it), or
   * creates it when the fleet sentinel says it never existed. Once per partition; concurrent
   * callers share one look.
   * @throws DatasetRolledBackError
   */
  openPartition(redis: Redis & GovernorCommands, partition: PartitionId): Promise<void> {
    if (this.#marks.has(partition)) return Promise.resolve();
    let opening = this.#opening.get(partition);
    if (!opening) {
      opening = this.#openPartition(redis, partition).finally(() => this.#opening.delete(partition));
      this.#opening.set(partition, opening);
    }
    return opening;
  }

  async #openPartition(redis: Redis & GovernorCommands, partition: PartitionId): Promise<void> {
    const key = this.#partitionKey(partition);
    // Separate commands, not one script: the fleet sentinel and the copy are in different slots.
    const [[id, seq, halted], [openedBefore, fleetHalted]] = await Promise.all([
      redis.hmget(key, 'id', 'seq', 'halted'),
      redis.hmget(this.key, `opened:${partition}`, 'halted'),
    ]);
    if (fleetHalted) throw new DatasetRolledBackError(this.key, { id: this.#id, seq: 0 }, { id: this.#id, seq: 0, halted: fleetHalted });
    let found: EpochReading = { id: id ?? '', seq: Number(seq ?? 0), halted: halted ?? '' };
    if (id === null && openedBefore === null) {
      const [createdId, createdSeq, createdHalted] = await redis.govOpenEpoch(key, this.#id, 'seq');
      found = { id: String(createdId), seq: Number(createdSeq), halted: String(createdHalted) };
      // Recorded after the copy exists: a crash in between leaves a copy and no record, which the
      // next opener reads as it is (the record only makes a vanished copy a loss).
      await redis.hset(this.key, `opened:${partition}`, '1');
    }
    const error = this.judge(found, 0, partition);
    if (error) throw error;
  }

  /** A commit's sequence on a partition (or a read's): the mark only rises. */
  observe(seq: number, partition: PartitionId): void {
    if (seq > (this.#marks.get(partition) ?? -1)) this.#marks.set(partition, seq);
  }

  /**
   * What a reading of a partition's copy means: `undefined` when the dataset is the one seen, not
   * behind it and not halted. `mark` is the mark when the read was sent: the mark may rise while
   * the read is under way (a commit answered on another connection), and only what was seen
   * before the read was sent must be in what it reads.
   */
  judge(found: EpochReading, mark: number, partition: PartitionId): DatasetRolledBackError | undefined {
    if (found.halted !== '' || found.id !== this.#id || found.seq < mark) {
      return new DatasetRolledBackError(this.#partitionKey(partition), { id: this.#id, seq: mark }, found);
    }
    this.observe(found.seq, partition);
    return undefined;
  }

  /** Reads the fleet sentinel and every opened partition's copy (at each heartbeat: an idle node finds a loss too). */
  async check(redis: Redis): Promise<DatasetRolledBackError | undefined> {
    const partitions = [...this.#marks.keys()];
    const marks = partitions.map((p) => this.#marks.get(p)!);
    const [[id, halted], ...copies] = await Promise.all([
      redis.hmget(this.key, 'id', 'halted'),
      ...partitions.map((p) => redis.hmget(this.#partitionKey(p), 'id', 'seq', 'halted')),
    ]);
    if (halted || id !== this.#id) {
      return new DatasetRolledBackError(this.key, { id: this.#id, seq: 0 }, { id: id ?? '', seq: 0, halted: halted ?? '' });
    }
    for (let i = 0; i < partitions.length; i++) {
      const [pid, seq, phalted] = copies[i]!;
      const error = this.judge({ id: pid ?? '', seq: Number(seq ?? 0), halted: phalted ?? '' }, marks[i]!, partitions[i]!);
      if (error) return error;
    }
    return undefined;
  }

  /**
   * Records the halt in the fleet sentinel and in every partition copy this node opened (once:
   * the first finder's record stays), so commits are refused and no node starts until an
   * operator removes the `halted` fields (`governor` says which keys).
   */
  async halt(redis: Redis, error: DatasetRolledBackError, node: string, at: number): Promise<void> {
    const record = `found by node ${node} at ${new Date(at).toISOString()}: it had seen commit ${error.seen.seq} of dataset ${error.seen.id}, ` +
      `Redis had ${error.found.id === '' ? 'no sentinel' : `commit ${error.found.seq} of dataset ${error.found.id}`}${error.key === this.key ? '' : ` at ${error.key}`}`;
    await redis.hsetnx(this.key, 'halted', record);
    await Promise.all([...this.#marks.keys()].map((p) => redis.hsetnx(this.#partitionKey(p), 'halted', record)));
  }
}
