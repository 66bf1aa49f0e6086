import { checkEntityAddress, type EntityAddress } from '../runtime/entity.ts';

/**
 * A partition of the entity key space: `"7"` in the sharded placement (all kinds of one key share
 * it), `"Billing.7"` in the distributed placement (one set of partitions per kind).
 */
export type PartitionId = string;

/**
 * Every Redis key name Governor uses, built here and nowhere else (as BullMQ's `QueueKeys`).
 *
 * BullMQ builds the keys of its queues from `prefix` and the queue name (`<prefix>:<queue>:wait`);
 * Governor's own keys live under `<prefix>:g:`, a namespace no queue name can take (queue names
 * here always contain a dot or are `dlq`). With a hash tag in the prefix (`{governor}`) every key
 * lands in one Redis Cluster slot, so the multi-key scripts work on a cluster.
 *
 * Entity keys come from outside and may contain anything printable, separators included. They are
 * percent-encoded (`encodeURIComponent`, injective on well-formed strings) after a kind that cannot
 * contain `:`, so two different (kind, key) pairs never share a Redis key.
 */
export class RedisKeys {
  readonly prefix: string;
  readonly #base: string;

  constructor(prefix: string) {
    if (prefix.length === 0) throw new TypeError('the Redis key prefix must not be empty (e.g. "{governor}")');
    this.prefix = prefix;
    this.#base = `${prefix}:g:`;
  }

  // ── BullMQ queue names (BullMQ adds the prefix itself) ─────────────────────────────────────

  /** The queue of one partition's entity messages. */
  partitionQueue(partition: PartitionId): string {
    return `p.${partition}`;
  }

  /** A node's inbox: pid-addressed envelopes (replies, signals, casts to pids). */
  nodeQueue(node: string): string {
    // Node names may contain ":", which BullMQ refuses in queue names; "%" cannot occur in them.
    return `n.${node.replaceAll(':', '%3A')}`;
  }

  /** Dead letters: never consumed, listed and replayed by hand. */
  readonly deadLetterQueue = 'dlq';

  /** The full key of one of a queue's own keys, e.g. `queueKey('p.3', 'wait')` (tests, inspection). */
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
    return `${this.#base}telemetry`;
  }

  /** String (JSON, with a TTL): one node's latest local telemetry summary, for `governor stats`. */
  telemetrySummary(node: string): string {
    return `${this.#base}telemetry-summary:${encodeURIComponent(node)}`;
  }

  // ── entity state ───────────────────────────────────────────────────────────────────────────

  /** Hash `{ v: version, d: JSON of the PersistedActorState }`. */
  state(address: EntityAddress): string {
    return `${this.#base}s:${entitySuffix(address)}`;
  }

  /** A SCAN pattern matching the state hashes of every entity of one kind (see {@link stateKeyOf}). */
  statePattern(entity: string): string {
    checkEntityAddress({ entity, key: 'x' });
    return `${globEscape(this.#base)}s:${entity}:*`;
  }

  /** The entity key of a state hash of kind `entity` found by {@link statePattern}; `undefined` for any other key. */
  stateKeyOf(entity: string, redisKey: string): string | undefined {
    const head = `${this.#base}s:${entity}:`;
    if (!redisKey.startsWith(head)) return undefined;
    try {
      return decodeURIComponent(redisKey.slice(head.length));
    } catch {
      return undefined; // not one of ours: our keys are always well-formed percent-encoding
    }
  }

  /**
   * List: the entity's journal (see `journal.ts`), one JSON entry per element, appended by the
   * commit script with the state and never rewritten.
   */
  journal(address: EntityAddress): string {
    return `${this.#base}j:${entitySuffix(address)}`;
  }

  /**
   * Hash: the entity's keyed records (see `entity-records.ts`), field → JSON, written by the
   * commit script with the state; e.g. an orchestrator's event id → the outcome it got.
   */
  records(address: EntityAddress): string {
    return `${this.#base}r:${entitySuffix(address)}`;
  }

  /** Sorted set of the ids of the messages this entity has handled (the most recent ones). */
  handled(address: EntityAddress): string {
    return `${this.#base}h:${entitySuffix(address)}`;
  }

  /**
   * Sorted set: the partition's timer index, `<kind>:<percent-encoded key>` (see
   * {@link timerMember}) → the entity's earliest timer deadline (runtime-clock ms). Written by the
   * commit script with the state; read by the partition's owner to wake entities that are not in
   * memory when a timer falls due (`TimerWake`).
   */
  timers(partition: PartitionId): string {
    return `${this.#base}t:${partition}`;
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
    return `${this.#base}o:${partition}`;
  }

  // ── the dataset ────────────────────────────────────────────────────────────────────────────

  /**
   * Hash `{ id, seq, halted? }`: the dataset sentinel, one per prefix (fleet-wide). `id` is random,
   * set by the first node on a fresh dataset; `seq` goes up by one with every commit; `halted` is
   * set by a node that saw `seq` go backwards (see `DatasetEpoch`). Under the prefix, so on the
   * prefix's hash tag (one Cluster slot with everything else).
   */
  get epoch(): string {
    return `${this.#base}epoch`;
  }

  // ── cluster membership ─────────────────────────────────────────────────────────────────────

  /** String: the node holding a partition, with a TTL (the lease). */
  lease(partition: PartitionId): string {
    return `${this.#base}l:${partition}`;
  }

  /** A SCAN pattern matching every partition's lease (see {@link leasePartitionOf}). */
  get leasePattern(): string {
    return `${globEscape(this.#base)}l:*`;
  }

  /** The partition of a lease key found by {@link leasePattern}; `undefined` for any other key. */
  leasePartitionOf(redisKey: string): PartitionId | undefined {
    const head = `${this.#base}l:`;
    return redisKey.startsWith(head) ? redisKey.slice(head.length) : undefined;
  }

  /** Sorted set: node name → the time (ms, Redis clock) its liveness runs out. */
  get nodes(): string {
    return `${this.#base}nodes`;
  }

  /** List: admin requests for one node (`governor repl`), BLPOPed by its admin listener. */
  adminRequests(node: string): string {
    return `${this.#base}admin:${encodeURIComponent(node)}`;
  }

  /** List: the one reply to admin request `id`; expires, so an abandoned reply does not linger. */
  adminReply(id: string): string {
    return `${this.#base}admin:reply:${encodeURIComponent(id)}`;
  }

  /** String with a TTL: an admin nonce already used, so a captured request cannot be replayed. */
  adminNonce(nonce: string): string {
    return `${this.#base}admin:nonce:${encodeURIComponent(nonce)}`;
  }

  /** Hash: node name → JSON of what it hosts and when it started. */
  get nodeInfo(): string {
    return `${this.#base}node-info`;
  }

  /** Hash: cluster-wide name → pid. */
  get names(): string {
    return `${this.#base}names`;
  }

  // ── tenant rate limits (at the door: `TenantThrottle`) ───────────────────────────────────

  /** String: a tenant's theoretical arrival time, the state of its rate limit (ms, Redis clock). */
  tenantRate(customerId: string): string {
    return `${this.#base}rate:${encodeURIComponent(customerId)}`;
  }

  /** String with a 1 s TTL: the requests a tenant attempted in the current second. */
  tenantAttempts(customerId: string): string {
    return `${this.#base}rate-n:${encodeURIComponent(customerId)}`;
  }

  /** String with a TTL: set while a tenant's throttling has been reported to its governors. */
  tenantThrottleReported(customerId: string): string {
    return `${this.#base}rate-r:${encodeURIComponent(customerId)}`;
  }

  /** Set: the global names registered by a node's processes (removed when it dies). */
  nodeNames(node: string): string {
    return `${this.#base}nn:${node}`;
  }
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
