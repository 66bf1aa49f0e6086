import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_NOT_FOUND_MESSAGE, startRedis, type RedisHandle } from '../support/redis-server.ts';

// The harness other Redis tests rely on: if it lies about durability or cleanup, they all do.

const handles: RedisHandle[] = [];
async function start(...args: Parameters<typeof startRedis>): Promise<RedisHandle> {
  const handle = await startRedis(...args);
  handles.push(handle);
  return handle;
}

afterEach(async () => {
  // In reverse: a handle on a shared server must clean up before that server goes away.
  for (const handle of handles.splice(0).reverse()) await handle.stop();
});

/** True while a process with this id exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  return fn().finally(() => apply(saved));
}

describe('a private redis-server', () => {
  it('answers on its own port with the production durability settings', async () => {
    const redis = await start({ mode: 'private' });
    const client = redis.client();
    expect(redis.mode).toBe('private');
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await client.ping()).toBe('PONG');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', redis.dir]);
  });

  it('gives two handles two servers and two prefixes', async () => {
    const [a, b] = await Promise.all([start({ mode: 'private' }), start({ mode: 'private' })]);
    expect(a.port).not.toBe(b.port);
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.keyPrefix).toBe(`${a.prefix}:`);
    await a.client().set('k', 'a');
    expect(await b.client().get('k')).toBeNull();
  });

  it('keeps acknowledged writes across a SIGKILL and a restart on the same port (AOF, fsync always)', async () => {
    // everysec may postpone the AOF write behind a slow fsync and lose the last writes to a kill.
    const redis = await start({ mode: 'private', appendfsync: 'always' });
    expect(await redis.client().config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    const writer = redis.client();
    await writer.set('survivor', 'yes');
    await writer.xadd('stream', '*', 'n', '1');
    writer.disconnect();

    const first = redis.pid!;
    await redis.kill();
    expect(alive(first)).toBe(false);
    expect(redis.pid).toBeUndefined();

    await redis.restart();
    expect(redis.pid).not.toBe(first);
    const reader = redis.client();
    expect(await reader.get('survivor')).toBe('yes');
    expect(await reader.xlen('stream')).toBe(1);
  });

  it('stops the server, frees the port and removes its dir; stop is idempotent', async () => {
    const redis = await startRedis({ mode: 'private' });
    const dir = redis.dir!;
    const pid = redis.pid!;
    expect(existsSync(dir)).toBe(true);
    expect(alive(pid)).toBe(true);
    await redis.stop();
    await redis.stop();
    expect(existsSync(dir)).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(() => redis.client()).toThrow(/stopped/);
  });

  it("starts one with Redis' own persistence defaults when asked (no AOF): the Redis a node refuses", async () => {
    const redis = await start({ mode: 'private', persistence: 'redis-defaults' });
    expect(await redis.client().config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await redis.client().config('GET', 'save')).not.toEqual(['save', '']);
  });

  it('passes extra arguments through to redis-server', async () => {
    const redis = await start({ mode: 'private', args: ['--maxmemory', '10mb'] });
    expect(await redis.client().config('GET', 'maxmemory')).toEqual(['maxmemory', String(10 * 1024 * 1024)]);
  });
});

describe('no Redis available', () => {
  it('fails loudly with the fix spelled out, never a silent skip', async () => {
    await withEnv({ PATH: '/nonexistent', REDIS_URL: undefined }, async () => {
      await expect(startRedis()).rejects.toThrow(REDIS_NOT_FOUND_MESSAGE);
    });
    expect(REDIS_NOT_FOUND_MESSAGE).toContain('apt-get install redis-server');
    expect(REDIS_NOT_FOUND_MESSAGE).toContain('REDIS_URL');
  });
});

describe('REDIS_URL (a shared server)', () => {
  it('uses the server from REDIS_URL and deletes only its own prefixed keys on stop', async () => {
    const shared = await start({ mode: 'private' });
    const owner = shared.client();
    await owner.set('someone-else:key', 'keep me');

    const external = await withEnv({ REDIS_URL: shared.url }, () => startRedis());
    expect(external.mode).toBe('external');
    expect(external.port).toBe(shared.port);
    expect(external.dir).toBeUndefined();

    const client = external.client();
    for (let i = 0; i < 1_200; i++) await client.set(`${external.keyPrefix}k${i}`, String(i));
    await client.set(`${external.prefix}-not-mine-but-prefixed`, 'x');
    await external.stop();

    expect(await owner.get('someone-else:key')).toBe('keep me');
    expect(await owner.keys(`${external.prefix}*`)).toEqual([]);
    expect(await owner.dbsize()).toBe(1);
  });

  it('refuses kill and restart on a shared server', async () => {
    const shared = await start({ mode: 'private' });
    const external = await withEnv({ REDIS_URL: shared.url }, () => startRedis());
    handles.push(external);
    await expect(external.kill()).rejects.toThrow(/mode: 'private'/);
    await expect(external.restart()).rejects.toThrow(/mode: 'private'/);
  });

  it('fails loudly on a shared server without AOF, which nodes refuse, unless GOVERNOR_ALLOW_DATA_LOSS=1', async () => {
    const shared = await start({ mode: 'private', persistence: 'redis-defaults' });
    await withEnv({ REDIS_URL: shared.url, GOVERNOR_ALLOW_DATA_LOSS: undefined }, async () => {
      await expect(startRedis()).rejects.toThrow(/has no AOF, and Governor nodes refuse to start on it: turn AOF on .*GOVERNOR_ALLOW_DATA_LOSS=1/);
    });
    const external = await withEnv({ REDIS_URL: shared.url, GOVERNOR_ALLOW_DATA_LOSS: '1' }, () => startRedis());
    handles.push(external);
    expect(external.mode).toBe('external');
  });

  it('starts a private server when asked, even with REDIS_URL set', async () => {
    const redis = await withEnv({ REDIS_URL: 'redis://127.0.0.1:1' }, () => start({ mode: 'private' }));
    expect(redis.mode).toBe('private');
    expect(await redis.client().ping()).toBe('PONG');
  });
});
