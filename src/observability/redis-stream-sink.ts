import type { Redis } from 'ioredis';
import { TelemetrySinkError } from './errors.ts';
import type { TelemetryEvent } from './events.ts';
import type { TelemetrySink } from './sink.ts';

/** The stream telemetry goes to unless told otherwise. */
export const DEFAULT_TELEMETRY_STREAM = 'governor:telemetry';

export interface RedisStreamSinkOptions {
  /**
   * The connection. Make it fail fast when Redis is away (`enableOfflineQueue: false`, or a small
   * `maxRetriesPerRequest`): ioredis otherwise queues commands while disconnected, so `send` would
   * wait instead of failing and the collector could not apply its drop policy.
   */
  readonly redis: Redis;
  /** @default 'governor:telemetry' */
  readonly stream?: string;
  /**
   * Approximate cap on the stream's length (`XADD … MAXLEN ~`): old entries are trimmed so an
   * absent consumer cannot fill Redis (which runs with `noeviction`).
   * @default 100_000
   */
  readonly maxLength?: number;
}

/**
 * A durable sink another process can consume: each event is one entry of a Redis stream with the
 * fields `id`, `type` and `event` (the event as JSON). A batch goes in one `MULTI`/`EXEC`, so it
 * is stored whole or not at all. Read it with `XREAD` or a consumer group and
 * {@link decodeTelemetryEntry}.
 *
 * @example
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false });
 * const sink = new RedisStreamSink({ redis });
 */
export class RedisStreamSink implements TelemetrySink {
  readonly name: string;
  readonly stream: string;
  readonly maxLength: number;
  readonly #redis: Redis;

  constructor(options: RedisStreamSinkOptions) {
    this.#redis = options.redis;
    this.stream = options.stream ?? DEFAULT_TELEMETRY_STREAM;
    this.maxLength = options.maxLength ?? 100_000;
    this.name = `redis-stream:${this.stream}`;
  }

  async send(batch: readonly TelemetryEvent[]): Promise<void> {
    if (batch.length === 0) return;
    const transaction = this.#redis.multi();
    for (const event of batch) {
      transaction.xadd(
        this.stream,
        'MAXLEN',
        '~',
        String(this.maxLength),
        '*',
        'id',
        event.id,
        'type',
        event.type,
        'event',
        JSON.stringify(event),
      );
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await transaction.exec();
    } catch (error) {
      throw new TelemetrySinkError(this.name, describe(error), { cause: error });
    }
    if (results === null) throw new TelemetrySinkError(this.name, 'the transaction was aborted');
    const failed = results.find(([error]) => error !== null);
    if (failed) throw new TelemetrySinkError(this.name, describe(failed[0]), { cause: failed[0] });
  }
}

/**
 * Turns the field list of a stream entry written by {@link RedisStreamSink} back into the event.
 * @returns `undefined` when the entry has no parsable `event` field.
 */
export function decodeTelemetryEntry(fields: readonly string[]): TelemetryEvent | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'event') continue;
    try {
      return JSON.parse(fields[i + 1]!) as TelemetryEvent;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
