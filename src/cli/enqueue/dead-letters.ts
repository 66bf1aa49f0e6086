import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../transport/bullmq/connections.ts';
import { listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayResult } from '../../transport/bullmq/dead-letters.ts';
import { ready } from '../../transport/bullmq/connections.ts';
import { resolveSettings } from '../../transport/bullmq/options.ts';
import { RedisKeys } from '../../store/redis-keys.ts';
import { QueueCache } from '../../transport/bullmq/queue-cache.ts';
import { connectOrExit, FAIL_FAST_REDIS } from './redis.ts';

/** The dead-letter queue of the nodes on one Redis, from outside any node. */
export class DeadLetterClient {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #queues: QueueCache;

  private constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = new RedisKeys(prefix);
    this.#queues = new QueueCache((name) => {
      const queue = new Queue(name, { connection: redis, prefix, defaultJobOptions: { attempts: 1 } });
      queue.on('error', () => undefined);
      return queue;
    });
  }

  static async connect(options: { url: string; prefix?: string }): Promise<DeadLetterClient> {
    const settings = resolveSettings({ url: options.url, prefix: options.prefix });
    return connectOrExit(options.url, async () => {
      const redis = createRedis(settings.url, { ...settings.redis, ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
      redis.on('error', () => undefined); // surfaced by the commands that fail
      try {
        await ready(redis);
      } catch (error) {
        redis.disconnect();
        throw error;
      }
      return new DeadLetterClient(redis, settings.prefix);
    });
  }

  list(start = 0, end = 999): Promise<DeadLetter[]> {
    return listDeadLetters(this.#queues.get(this.#keys.deadLetterQueue), start, end);
  }

  replay(id: string): Promise<ReplayResult> {
    return replayDeadLetter(this.#queues.get(this.#keys.deadLetterQueue), (name) => this.#queues.get(name), id);
  }

  async close(): Promise<void> {
    await this.#queues.close();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
