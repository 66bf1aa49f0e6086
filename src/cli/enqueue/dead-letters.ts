import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { listDeadLetters, replayDeadLetter, type DeadLetter, type ReplayResult } from '../../transport/bullmq/dead-letters.ts';
import { ready } from '../../transport/bullmq/connections.ts';
import { resolveSettings } from '../../transport/bullmq/options.ts';
import { RedisKeys } from '../../store/redis-keys.ts';
import { connectOrExit, FAIL_FAST_REDIS } from './redis.ts';

/** The dead-letter queue of the nodes on one Redis, from outside any node. */
export class DeadLetterClient {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #keys: RedisKeys;
  readonly #queues = new Map<string, Queue>();

  private constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#keys = new RedisKeys(prefix);
  }

  static async connect(options: { url: string; prefix?: string }): Promise<DeadLetterClient> {
    const settings = resolveSettings({ url: options.url, prefix: options.prefix });
    return connectOrExit(options.url, async () => {
      const redis = new Redis(settings.url, { ...settings.redis, ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
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

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.#redis, prefix: this.#prefix, defaultJobOptions: { attempts: 1 } });
      queue.on('error', () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  list(start = 0, end = 999): Promise<DeadLetter[]> {
    return listDeadLetters(this.#queue(this.#keys.deadLetterQueue), start, end);
  }

  replay(id: string): Promise<ReplayResult> {
    return replayDeadLetter(this.#queue(this.#keys.deadLetterQueue), (name) => this.#queue(name), id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => undefined)));
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
