import { checkEntityAddress, type EntityAddress } from '../runtime/entity.ts';
import { KeyPartitions, type PartitionId, type Placement } from './key-partitions.ts';

export type { PartitionId } from './key-partitions.ts';

/** How the entity key space is cut into partitions: the same on every node and producer. */
export interface KeyLayoutOptions {
  /** @default 16 (the transport's default) */
  readonly partitions?: number;
  /** @default 'sharded' */
  readonly placement?: Placement;
}

/**
 * The version of the key layout below. Layout 1 (before Redis Cluster support) kept every key
 * under `<prefix>:g:…` and the queues under `<prefix>:<queue>:…`, with the hash tag in the prefix
 * (`{governor}`), so a cluster put all of Governor on one shard. See `layout-check.ts`.
 */
export const KEY_LAYOUT_VERSION = 2;

/**
 * Every Redis key name Governor uses, built here and nowhere else (as BullMQ's `QueueKeys`).
 *
 * Layout 2, made for Redis Cluster: every key carries a hash tag (`{…}`) naming the one thing a
 * script or transaction touches together, so each script touches one slot and the partitions
 * spread over the shards.
 *
 * | hash tag | holds |
 * | --- | --- |
 * | `{p.<partition>}` | the partition's BullMQ queue (`<prefix>:{p.3}:wait`…), its lease, outbox, timer index, dataset sentinel copy, and the state, journal and handled set of every entity in it |
 * | `{g}` | fleet-wide: nodes, node info, names, the dataset sentinel, admin requests, telemetry |
 * | `{n.<node>}` | a node's inbox queue |
 * | `{dlq}` | the dead-letter queue |
 * | `{r.<customer>}` | a tenant's rate limit (three keys, one script at the door) |
 *
 * The entity methods take an {@link EntityAddress} and find its partition themselves (the rule of
 * `KeyPartitions`, with this instance's partitions and placement), so a key added per entity lands
 * in its partition's slot without its callers knowing about slots.
 *
 * BullMQ builds the keys of its queues from `prefix` and the queue name (`<prefix>:<queue>:wait`);
 * Governor's own keys live under `<prefix>:g:`, a namespace no queue name can take (queue names
 * here always start with `{`). A prefix must not hold a hash tag of its own: it would be the
 * first `{…}` of every key and put them all in one slot again.
 *
 * Entity keys come from outside and may contain anything printable, separators included. They are
 * percent-encoded (`encodeURIComponent`, injective on well-formed strings, and `{`/`}` encoded, so
 * a key can never move the hash tag) after a kind that cannot contain `:`, so two different (kind,
 * key) pairs never share a Redis key.
 */
export class RedisKeys {
  readonly prefix: string;
  readonly partitions: number;
  readonly placement: Placement;
  /** `<prefix>:g:`: Governor's own keys. */
  readonly #base: string;
  /** `<prefix>:g:{g}:`: the fleet-wide ones, one slot. */
  readonly #fleet: string;
  readonly #partitionOf: KeyPartitions;

  constructor(prefix: string, layout: KeyLayoutOptions = {}) {
    if (prefix.length === 0) throw new TypeError('the Redis key prefix must not be empty (e.g. "governor")');
    if (prefix.includes('{}')) {
      throw new TypeError(`the Redis key prefix "${prefix}" holds an empty hash tag "{}": Redis Cluster would then hash each whole key and split a partition's keys over slots; drop the braces`);
    }
    this.prefix = prefix;
    this.partitions = layout.partitions ?? 16;
    this.placement = layout.placement ?? 'sharded';
    this.#base = `${prefix}:g:`;
    this.#fleet = `${prefix}:g:{g}:`;
    this.#partitionOf = new KeyPartitions(this.partitions, this.placement);
  }

  /** The partition an entity belongs to (the transport's and the producer's rule). */
  partitionOf(address: EntityAddress): PartitionId {
    checkEntityAddress(address);
    return this.#partitionOf.partitionOf(address);
  }

  /** `<prefix>:g:{p.<partition>}:`: where a partition's own keys start. */
  #partition(partition: PartitionId): string {
    return `${this.#base}${partitionTag(partition)}:`;
  }

  // ── BullMQ queue names (BullMQ adds the prefix itself) ─────────────────────────────────────

  /** The queue of one partition's entity messages: its keys share the partition's hash tag. */
  partitionQueue(partition: PartitionId): string {
    return partitionTag(partition);
  }

  /** A node's inbox: pid-addressed envelopes (replies, signals, casts to pids). */
  nodeQueue(node: string): string {
    // Node names may contain ":", which BullMQ refuses in queue names; "%" cannot occur in them.
    // Braces are encoded too, so a node name cannot end the hash tag early.
    return `{n.${node.replaceAll(':', '%3A').replaceAll('{', '%7B').replaceAll('}', '%7D')}}`;
  }

  /** Dead letters: never consumed, listed and replayed by hand. */
  readonly deadLetterQueue = '{dlq}';

  /** The full key of one of a queue's own keys, e.g. `queueKey('{p.3}', 'wait')` (tests, inspection). */
  queueKey(queue: string, type: string): string {
    return `${this.prefix}:${queue}:${type}`;
  }

  /** BullMQ's lock of a job being processed (BullMQ's own layout: `<prefix>:<queue>:<job id>:lock`). */
  jobLock(queue: string, jobId: string): string {
    return `${this.prefix}:${queue}:${jobId}:lock`;
  }

  // ── telemetry ──────────────────────────────────────────────────────────────────────────────

  /** The stream product telemetry batches go to (`RedisStreamSink`), read by `governor stats`. */
  get telemetryStream(): string {
    return `${this.#fleet}telemetry`;
  }

  /** String (JSON, with a TTL): one node's latest local telemetry summary, for `governor stats`. */
  telemetrySummary(node: string): string {
    return `${this.#fleet}telemetry-summary:${encodeURIComponent(node)}`;
  }

  // ── entity state (each in its partition's slot) ───────────────────────────────────────────

  /** Hash `{ v: version, d: JSON of the PersistedActorState }`. */
  state(address: EntityAddress): string {
    return `${this.#partition(this.partitionOf(address))}s:${entitySuffix(address)}`;
  }

  /**
   * A SCAN pattern matching the state hashes of every entity of one kind (see {@link stateKeyOf}),
   * in every partition. On a cluster, SCAN each master (`scanKeys` in `connections.ts`).
   */
  statePattern(entity: string): string {
    checkEntityAddress({ entity, key: 'x' });
    return `${globEscape(this.#base)}{p.*}:s:${entity}:*`;
  }

  /** The entity key of a state hash of kind `entity` found by {@link statePattern}; `undefined` for any other key. */
  stateKeyOf(entity: string, redisKey: string): string | undefined {
    if (!redisKey.startsWith(`${this.#base}{p.`)) return undefined;
    const tail = `}:s:${entity}:`;
    const at = redisKey.indexOf(tail, this.#base.length);
    if (at < 0) return undefined;
    try {
      const key = decodeURIComponent(redisKey.slice(at + tail.length));
      // Only a key of its own partition is one of ours (the pattern's `*` could span more).
      return this.state({ entity, key }) === redisKey ? key : undefined;
    } catch {
      return undefined; // not one of ours: our keys are always well-formed percent-encoding
    }
  }

  /**
   * List: the entity's journal (see `journal.ts`), one JSON entry per element, appended by the
   * commit script with the state and never rewritten.
   */
  journal(address: EntityAddress): string {
    return `${this.#partition(this.partitionOf(address))}j:${entitySuffix(address)}`;
  }

  /**
   * Hash: the entity's keyed records (see `entity-records.ts`), field → JSON, written by the
   * commit script with the state; e.g. an orchestrator's event id → the outcome it got.
   */
  records(address: EntityAddress): string {
    return `${this.#partition(this.partitionOf(address))}r:${entitySuffix(address)}`;
  }

  /** Sorted set of the ids of the messages this entity has handled (the most recent ones). */
  handled(address: EntityAddress): string {
    return `${this.#partition(this.partitionOf(address))}h:${entitySuffix(address)}`;
  }

  /**
   * Sorted set: the partition's timer index, `<kind>:<percent-encoded key>` (see
   * {@link timerMember}) → the entity's earliest timer deadline (runtime-clock ms). Written by the
   * commit script with the state; read by the partition's owner to wake entities that are not in
   * memory when a timer falls due (`TimerWake`).
   */
  timers(partition: PartitionId): string {
    return `${this.#partition(partition)}t`;
  }

  /** An entity's member in its partition's {@link timers} index. */
  timerMember(address: EntityAddress): string {
    return entitySuffix(address);
  }

  /** The entity of a {@link timers} member; `undefined` for a member that is not one of ours. */
  timerEntity(member: string): EntityAddress | undefined {
    const colon = member.indexOf(':');
    if (colon <= 0) return undefined;
    try {
      return { entity: member.slice(0, colon), key: decodeURIComponent(member.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }

  /** List of committed messages of a partition not yet relayed into their queues. */
  outbox(partition: PartitionId): string {
    return `${this.#partition(partition)}o`;
  }

  // ── the dataset ────────────────────────────────────────────────────────────────────────────

  /**
   * Hash `{ id, halted?, opened:<partition>… }`: the dataset sentinel, one per prefix (fleet-wide).
   * `id` is random, set by the first node on a fresh dataset; `halted` is set by a node that saw
   * a sequence go backwards; `opened:<partition>` records that the partition's own sentinel
   * ({@link partitionEpoch}) was created, so one that vanished is a loss, not a fresh start.
   * See `DatasetEpoch`.
   */
  get epoch(): string {
    return `${this.#fleet}epoch`;
  }

  /**
   * Hash `{ id, seq, halted? }`: the partition's copy of the dataset sentinel, in the partition's
   * slot so the commit script checks and counts it with the commit. `seq` goes up by one with
   * every commit of the partition.
   */
  partitionEpoch(partition: PartitionId): string {
    return `${this.#partition(partition)}e`;
  }

  // ── cluster membership ─────────────────────────────────────────────────────────────────────

  /** String: the node holding a partition, with a TTL (the lease); in the partition's slot, as the commit fences on it. */
  lease(partition: PartitionId): string {
    return `${this.#partition(partition)}l`;
  }

  /** A SCAN pattern matching every partition's lease (see {@link leasePartitionOf}). */
  get leasePattern(): string {
    return `${globEscape(this.#base)}{p.*}:l`;
  }

  /** The partition of a lease key found by {@link leasePattern}; `undefined` for any other key. */
  leasePartitionOf(redisKey: string): PartitionId | undefined {
    const head = `${this.#base}{p.`;
    if (!redisKey.startsWith(head) || !redisKey.endsWith('}:l')) return undefined;
    const partition = redisKey.slice(head.length, -3);
    return this.lease(partition) === redisKey ? partition : undefined;
  }

  /** Sorted set: node name → the time (ms, Redis clock) its liveness runs out. */
  get nodes(): string {
    return `${this.#fleet}nodes`;
  }

  /** List: admin requests for one node (`governor repl`), BLPOPed by its admin listener. */
  adminRequests(node: string): string {
    return `${this.#fleet}admin:${encodeURIComponent(node)}`;
  }

  /** List: the one reply to admin request `id`; expires, so an abandoned reply does not linger. */
  adminReply(id: string): string {
    return `${this.#fleet}admin:reply:${encodeURIComponent(id)}`;
  }

  /** String with a TTL: an admin nonce already used, so a captured request cannot be replayed. */
  adminNonce(nonce: string): string {
    return `${this.#fleet}admin:nonce:${encodeURIComponent(nonce)}`;
  }

  /** Hash: node name → JSON of what it hosts and when it started. */
  get nodeInfo(): string {
    return `${this.#fleet}node-info`;
  }

  /**
   * Hash: events producers refused at the door, fleet-wide running totals by reason (`throttled`,
   * `reused_key`), for the metrics one node reports (`governor_throttled_events_total`, …).
   */
  get doorRefusals(): string {
    return `${this.#fleet}door-refusals`;
  }

  /** Hash: cluster-wide name → pid. */
  get names(): string {
    return `${this.#fleet}names`;
  }

  // ── tenant rate limits (at the door: `TenantThrottle`), one slot per tenant ───────────────

  /** String: a tenant's theoretical arrival time, the state of its rate limit (ms, Redis clock). */
  tenantRate(customerId: string): string {
    return `${this.#base}${tenantTag(customerId)}:rate`;
  }

  /** String with a 1 s TTL: the requests a tenant attempted in the current second. */
  tenantAttempts(customerId: string): string {
    return `${this.#base}${tenantTag(customerId)}:rate-n`;
  }

  /** String with a TTL: set while a tenant's throttling has been reported to its governors. */
  tenantThrottleReported(customerId: string): string {
    return `${this.#base}${tenantTag(customerId)}:rate-r`;
  }

  /** Set: the global names registered by a node's processes (removed when it dies). */
  nodeNames(node: string): string {
    return `${this.#fleet}nn:${node}`;
  }
}

/**
 * `{p.<partition>}`: a partition's hash tag. Partition ids are digits, or a kind (no `:`) and
 * digits, so they cannot hold a brace; checked anyway, as a brace would silently move the tag.
 */
export function partitionTag(partition: PartitionId): string {
  if (partition.length === 0 || /[{}]/.test(partition)) throw new TypeError(`a partition id must be non-empty and without braces, got "${partition}"`);
  return `{p.${partition}}`;
}

/** `{r.<percent-encoded customer>}`: a tenant's hash tag (encoded, so no brace of the id ends it). */
function tenantTag(customerId: string): string {
  return `{r.${encodeURIComponent(customerId)}}`;
}

/** `<kind>:<percent-encoded key>`; the kind is checked to be a plain name (no `:`). */
export function entitySuffix(address: EntityAddress): string {
  checkEntityAddress(address);
  return `${address.entity}:${encodeURIComponent(address.key)}`;
}

/** `*`, `?`, `[`, `]` and backslash taken literally in a Redis glob (a prefix may contain them). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
