import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisHandle } from './redis-server.ts';

/** What {@link privateRedisForFile} gives a test file. */
export interface FileRedis {
  readonly redis: RedisHandle;
  readonly client: Redis;
  /** A key prefix no other test of the file uses: `<server prefix>:{<tag><n>}` (one hash slot). */
  prefix(tag: string): string;
  /** The next number of the file's serial (ids that must not repeat across its tests). */
  next(): number;
}

/**
 * A private `redis-server` for one test file: started before its tests, stopped after them, with
 * one client and fresh key prefixes, so the file's tests never see each other's keys. Call it at
 * the top of the file (it registers the file's `beforeAll`/`afterAll`).
 */
export function privateRedisForFile(): FileRedis {
  let handle: RedisHandle | undefined;
  let client: Redis | undefined;
  let serial = 0;
  beforeAll(async () => {
    handle = await startRedis();
    client = handle.client();
  });
  afterAll(async () => {
    await handle?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('privateRedisForFile: the server is started in beforeAll; use it inside a test or hook');
    return value;
  };
  return {
    get redis() {
      return started(handle);
    },
    get client() {
      return started(client);
    },
    prefix: (tag) => `${started(handle).prefix}:{${tag}${++serial}}`,
    next: () => ++serial,
  };
}
