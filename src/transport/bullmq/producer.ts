import type { Redis, RedisOptions } from 'ioredis';
import { checkEntityAddress, InvalidEntityAddressError, isEntityAddress, type EntityAddress } from '../../runtime/entity.ts';
import { checkMessage, type Message } from '../../runtime/envelope.ts';
import { RedisKeys } from '../../store/redis-keys.ts';
import { createRedis, ready } from './connections.ts';
import { KeyPartitions } from '../../store/key-partitions.ts';
import { canonicalJson } from '../../marketplace/canonical-json.ts';
import { checkJobDataLimits, checkMessageId, IdempotencyKeyReusedError, InvalidJobDataError, jobIdFor, JOB_FORMAT_VERSION, type JobData } from './job-format.ts';
import { resolveSettings, type BullmqTransportOptions, type TransportSettings } from './options.ts';
import { addingQueue, QueueCache } from './queue-cache.ts';
import { contextOfCarrier, traceCarrier, type TraceCarrier } from './trace-context.ts';

/** One message for {@link GovernorProducer.sendMany}. */
export interface OutboundMessage {
  readonly to: EntityAddress;
  readonly event: Message;
  /** The message id (idempotency key). @default a random id */
  readonly id?: string;
  /** Delivered no sooner than this many ms from now (a BullMQ delayed job). @default 0 */
  readonly delayMs?: number;
  /**
   * The trace the message belongs to, written to the job's `trace` field (W3C Trace Context, see
   * `trace-context.ts`): a node that traces starts the job's span under it. One that is not
   * valid is refused with an {@link InvalidJobDataError}, like a bad message id.
   * @default the span active when `sendMany` is called, if an OpenTelemetry SDK runs one; else none
   */
  readonly trace?: TraceCarrier;
  /**
   * The BullMQ job name, what dashboards (Bull Board, Taskforce) list jobs by. Informative only:
   * the nodes never read it (the message's `type` decides). @default the message's `type`
   */
  readonly name?: string;
}

/** Options of {@link GovernorProducer.sendMany}. */
export interface SendOptions {
  /**
   * What a message says, for the comparison with a job already queued under the same message id:
   * equal, the send is a duplicate (BullMQ keeps the first job); different, the id is reused and
   * the send refused ({@link IdempotencyKeyReusedError}). Leave out what legitimately varies
   * between resends (an enqueue time). @default the canonical JSON of the message
   */
  readonly contentOf?: (message: Message) => string;
}

/** The messages of one batch that go to one queue: their indexes in the batch, and their job hashes' keys. */
interface QueueGroup {
  readonly queue: string;
  readonly indexes: number[];
  readonly keys: string[];
}

/** A message as it goes to `addBulk`. */
interface PreparedJob {
  readonly id: string;
  readonly to: EntityAddress;
  readonly event: Message;
  readonly queue: string;
  readonly job: { name: string; data: JobData; opts: { jobId: string; delay?: number } };
}

const canonicalContent = (message: Message): string => {
  try {
    return canonicalJson(message);
  } catch {
    return JSON.stringify(message);
  }
};

let serial = 0;

/**
 * Enqueues entity messages from outside any node (a web handler, a script, the CLI), in the
 * documented job format, into the right partition queue. Fails fast when Redis is unreachable.
 *
 * @example
 * const producer = await GovernorProducer.connect({ url, partitions: 16 });
 * await producer.send({ entity: 'Orchestrator', key: 'c-1' }, { type: 'CustomerSubscribes', sku: 'pro' }, { id: eventId });
 */
export class GovernorProducer {
  readonly settings: TransportSettings;
  readonly keys: RedisKeys;
  readonly #redis: Redis & ProducerCommands;
  readonly #queues: QueueCache;
  readonly #partitions: KeyPartitions;

  private constructor(redis: Redis, settings: TransportSettings) {
    redis.defineCommand('govStoredJobData', { lua: STORED_DATA_SCRIPT });
    this.#redis = redis as Redis & ProducerCommands;
    this.settings = settings;
    this.keys = new RedisKeys(settings.prefix, settings);
    this.#queues = new QueueCache((name) => {
      const queue = addingQueue(name, redis, settings);
      queue.on('error', () => undefined); // surfaced by the add that fails
      return queue;
    });
    this.#partitions = new KeyPartitions(settings.partitions, settings.placement);
  }

  static async connect(options: Pick<BullmqTransportOptions, 'url' | 'prefix' | 'partitions' | 'placement' | 'removeOnComplete' | 'removeOnFail' | 'eventsMaxLen' | 'telemetry'> & { redis?: RedisOptions } = {}): Promise<GovernorProducer> {
    const settings = resolveSettings(options);
    const redis = createRedis(settings.url, { ...settings.redis, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined); // surfaced by the commands that fail
    await ready(redis);
    return new GovernorProducer(redis, settings);
  }

  /** The producer's connection (non-blocking), for commands that go with its sends. */
  get connection(): Redis {
    return this.#redis;
  }

  /** The queue an entity's messages go to. */
  queueOf(address: EntityAddress): string {
    return this.keys.partitionQueue(this.#partitions.partitionOf(address));
  }

  /** The BullMQ job id of a message to `to` (see {@link jobIdFor}): to find its job or its dead letter. */
  jobIdOf(to: EntityAddress, id: string): string {
    return jobIdFor(to, id);
  }

  /** Sends one message (a cast); resolves with its id once it is in Redis. */
  async send(to: EntityAddress, event: Message, options: { id?: string } = {}): Promise<string> {
    const [id] = await this.sendMany([{ to, event, id: options.id }]);
    return id!;
  }

  /**
   * Sends messages, in order per receiver (one `addBulk` per queue, the queues in parallel). All
   * are checked before any is sent: a bad address throws an `InvalidEntityAddressError`, a bad
   * message type a `TypeError`, a bad message id ({@link checkMessageId}), a bad `trace`, or data over the limits
   * ({@link MAX_JOB_DEPTH}, {@link MAX_JOB_BYTES}) an {@link InvalidJobDataError}, a message id
   * used before for other content (a job under it still in its queue, or an earlier message of
   * the batch) an {@link IdempotencyKeyReusedError}, and then nothing was written. The same id
   * with the same content is a duplicate: BullMQ keeps the first job, and the send succeeds.
   */
  async sendMany(messages: readonly OutboundMessage[], options: SendOptions = {}): Promise<string[]> {
    const prepared = messages.map((message): PreparedJob => {
      if (!isEntityAddress(message.to)) throw new InvalidEntityAddressError(message.to, 'to must be an object { entity, key }');
      checkEntityAddress(message.to);
      checkMessage(message.event);
      const id = message.id ?? `p${process.pid}x${Date.now().toString(36)}x${++serial}`;
      const idProblem = checkMessageId(id);
      if (idProblem !== undefined) throw new InvalidJobDataError(`message id ${JSON.stringify(id)} ${idProblem}`);
      // One given by the caller is checked as the nodes read it: junk there is a caller's bug, said now.
      const given = message.trace === undefined ? undefined : contextOfCarrier(message.trace);
      if (given?.ok === false) throw new InvalidJobDataError(`message ${id}: ${given.problem}`);
      const trace = message.trace ?? traceCarrier();
      const env = { t: 'cast', to: message.to, event: message.event } as const;
      const data: JobData = trace === undefined ? { v: JOB_FORMAT_VERSION, id, env } : { v: JOB_FORMAT_VERSION, id, env, trace };
      const problem = checkJobDataLimits(data);
      if (problem !== undefined) throw new InvalidJobDataError(`message ${id} to ${message.to.entity}/${message.to.key}: ${problem}`);
      const delay = message.delayMs ?? 0;
      if (!Number.isSafeInteger(delay) || delay < 0) throw new InvalidJobDataError(`message ${id}: delayMs must be a whole number of ms ≥ 0, got ${String(delay)}`);
      const opts = delay > 0 ? { jobId: this.jobIdOf(message.to, id), delay } : { jobId: this.jobIdOf(message.to, id) };
      return { id, to: message.to, event: message.event, queue: this.queueOf(message.to), job: { name: message.name ?? message.event.type, data, opts } };
    });
    const contentOf = options.contentOf ?? canonicalContent;
    // What BullMQ stores for each message (`JSON.stringify` of its data), built once for both checks.
    const texts = prepared.map((p) => JSON.stringify(p.job.data));
    // Order matters per receiver, and a receiver's messages all go to one queue: one addBulk per
    // queue, all queues at once. The grouping (and each job's key) serves both checks as well.
    const groups = this.#byQueue(prepared);
    const reused = await this.#reused(prepared, groups, texts, contentOf, true);
    if (reused.length > 0) throw new IdempotencyKeyReusedError(reused.map((p) => ({ to: p.to, id: p.id })));
    await Promise.all(groups.map(({ queue, indexes }) => this.#queues.get(queue).addBulk(indexes.map((i) => prepared[i]!.job))));
    // Another producer may have added the same id between the check and the add: BullMQ then
    // kept its job and dropped ours, silently. Read back what is stored under each id.
    const lost = await this.#reused(prepared, groups, texts, contentOf, false);
    if (lost.length > 0) throw new IdempotencyKeyReusedError(lost.map((p) => ({ to: p.to, id: p.id })), lost.length < prepared.length);
    return prepared.map((p) => p.id);
  }

  /** The batch's messages by queue, in batch order within each, with the key of each one's job hash. */
  #byQueue(prepared: readonly PreparedJob[]): QueueGroup[] {
    const groups = new Map<string, QueueGroup>();
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i]!;
      let group = groups.get(p.queue);
      if (!group) groups.set(p.queue, (group = { queue: p.queue, indexes: [], keys: [] }));
      group.indexes.push(i);
      group.keys.push(this.#queues.get(p.queue).toKey(p.job.opts.jobId));
    }
    return [...groups.values()];
  }

  /**
   * The messages whose job id holds a job with other content ({@link SendOptions.contentOf}), and
   * (`withinBatch`) those whose job id an earlier message of the batch has with other content. A
   * job that is gone (completed and removed) cannot be compared: the target's own check (e.g. the
   * orchestrator's digest) covers that case.
   */
  async #reused(prepared: readonly PreparedJob[], groups: readonly QueueGroup[], texts: readonly string[], contentOf: (message: Message) => string, withinBatch: boolean): Promise<PreparedJob[]> {
    if (prepared.length === 0) return [];
    // Before the add, the ids are fresh (nothing stored) in the common case: the check sends only
    // the job keys. After it, each id normally holds our own text: that check compares in Redis.
    const stored = await this.#storedOtherThan(groups, withinBatch ? undefined : texts);
    // The common answers: nothing stored before the add, our own jobs after it, no id twice.
    if (stored.size === 0 && !withinBatch) return [];
    const reused: PreparedJob[] = [];
    // Content is computed only where something is there to compare with: a fresh id (the common
    // case) costs nothing here, and neither does a job stored with exactly this message's data.
    const content = new Map<PreparedJob, string>();
    const contentOfSent = (p: PreparedJob) => {
      let text = content.get(p);
      if (text === undefined) content.set(p, (text = contentOf(p.event)));
      return text;
    };
    // The first message of the batch under each job id, by its index.
    const sent = withinBatch ? new Map<string, number>() : undefined;
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i]!;
      if (sent !== undefined) {
        const earlier = sent.get(p.job.opts.jobId);
        if (earlier !== undefined) {
          if (texts[i] !== texts[earlier] && contentOfSent(prepared[earlier]!) !== contentOfSent(p)) reused.push(p);
          continue;
        }
        sent.set(p.job.opts.jobId, i);
      }
      const data = stored.get(i);
      if (data === undefined || data === texts[i]) continue;
      if (storedContent(data, contentOf) !== contentOfSent(p)) reused.push(p);
    }
    return reused;
  }

  /**
   * The data stored under each message's job id, by index; ids with nothing stored are left out,
   * and with `texts` (what BullMQ stores for each message: `JSON.stringify` of its data) so is this
   * very text. One script per queue: the common answers (nothing there before the add, our own job
   * read back after it) never cross the network, where a pipeline of one HGET per message brought
   * every stored job's data back to be compared here; and the check before the add, whose ids are
   * fresh in the common case, sends no data either.
   */
  async #storedOtherThan(groups: readonly QueueGroup[], texts: readonly string[] | undefined): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    await Promise.all(
      groups.map(async ({ indexes, keys }) => {
        const answer = texts
          ? await this.#redis.govStoredJobData(keys.length, ...keys, ...indexes.map((i) => texts[i]!))
          : await this.#redis.govStoredJobData(keys.length, ...keys);
        for (let k = 0; k + 1 < answer.length; k += 2) found.set(indexes[Number(answer[k]) - 1]!, String(answer[k + 1]));
      }),
    );
    return found;
  }

  async close(): Promise<void> {
    await this.#queues.close();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/**
 * KEYS: job hashes; ARGV: none, or the data each should hold. Returns `[position, stored data, …]`
 * for the jobs that exist (with ARGV: that exist with other data). Keys of one queue only (one
 * hash slot on a Redis Cluster). Run by EVALSHA (ioredis' `defineCommand`), not sent every time.
 */
const STORED_DATA_SCRIPT = `
local out = {}
local compare = #ARGV > 0
for i = 1, #KEYS do
  local data = redis.call('HGET', KEYS[i], 'data')
  if data and (not compare or data ~= ARGV[i]) then
    out[#out + 1] = i
    out[#out + 1] = data
  end
end
return out`;

interface ProducerCommands {
  govStoredJobData(numKeys: number, ...args: string[]): Promise<unknown[]>;
}

/** The content of stored job data, or `undefined` when it is not a message job (then it differs from any). */
function storedContent(data: string, contentOf: (message: Message) => string): string | undefined {
  try {
    const event = (JSON.parse(data) as { env?: { event?: unknown } }).env?.event;
    return typeof event === 'object' && event !== null ? contentOf(event as Message) : undefined;
  } catch {
    return undefined;
  }
}
