import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIL_FAST_REDIS } from '../../src/cli/enqueue/redis.ts';
import { deadlineRedisOptions, isRedisUnavailable, redisTimeoutMs } from '../../src/cli/redis-deadline.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governorAsync } from './governor-command.ts';

/**
 * Every command that talks to Redis ends, with exit 3 and one line naming the Redis and what to
 * do, when that Redis is frozen (SIGSTOP: the kernel still accepts the connection, nothing ever
 * answers). The real binary, a private Redis; the only clock is the CLI's own deadline.
 */

let redis: RedisHandle;
let frozen: number | undefined;

const freeze = () => {
  frozen = redis.pid!;
  process.kill(frozen, 'SIGSTOP');
};
const thaw = () => {
  if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
  frozen = undefined;
};

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
});
afterAll(async () => {
  thaw();
  await redis?.stop();
});

const ONE_LINE = (ms: number) =>
  new RegExp(`^governor: (enqueued \\S+, but waiting for the outcome: )?cannot reach Redis at redis://127\\.0\\.0\\.1:\\d+/?: no answer within ${ms} ms; check that it is running and answering there \\(--redis or REDIS_URL\\), or give it longer with GOVERNOR_REDIS_TIMEOUT_MS\\n$`);

describe('a frozen Redis: every command gives up with exit 3 within its deadline', () => {
  beforeAll(freeze);
  afterAll(thaw);

  it.each([
    ['enqueue', ['enqueue', 'CustomerSubscribes', '--customer', 'c1', '--sku', 'PRO-MONTHLY', '--tier', 'professional']],
    ['enqueue --wait', ['enqueue', 'CustomerSubscribes', '--customer', 'c1', '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '30']],
    ['dlq list', ['dlq', 'list']],
    ['dlq replay', ['dlq', 'replay', 'p.0~m-1']],
    ['repl --eval tree()', ['repl', '--eval', 'tree()']],
    ['repl --eval queues() on a named node', ['repl', '--node', 'n1', '--eval', 'queues()']],
    ['repl --eval audit_verify() (an audit read)', ['repl', '--node', 'n1', '--eval', 'audit_verify()']],
    ['stats', ['stats']],
    ['check --transport bullmq', ['check', '--transport', 'bullmq', '--runs', '1']],
  ])('%s', async (_name, args) => {
    const run = await governorAsync([...args, '--redis', redis.url], { env: { GOVERNOR_REDIS_TIMEOUT_MS: '1000', GOVERNOR_ADMIN_TOKEN: 'token' } });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(ONE_LINE(1000));
  }, 60_000);

  it('without GOVERNOR_REDIS_TIMEOUT_MS the documented default, 5000 ms, applies', async () => {
    const run = await governorAsync(['dlq', 'list', '--redis', redis.url], { env: { GOVERNOR_REDIS_TIMEOUT_MS: '' } });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(ONE_LINE(5000));
  }, 60_000);

  it('a command that gave up ends even when Redis resumes while its connection is still open', async () => {
    let resumed = false;
    const run = await governorAsync(['enqueue', 'CustomerSubscribes', '--customer', 'c2', '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url], {
      env: { GOVERNOR_REDIS_TIMEOUT_MS: '1000' },
      // The moment it says it gave up, Redis answers again: its pending connection now succeeds and stays open.
      onStderr: (text) => {
        if (!resumed && text.includes('cannot reach Redis')) {
          resumed = true;
          thaw();
        }
      },
    });
    expect(resumed).toBe(true);
    expect(run.code, run.stderr).toBe(3);
    freeze();
  }, 60_000);

  it('a bad GOVERNOR_REDIS_TIMEOUT_MS is bad usage (exit 2), named', async () => {
    const run = await governorAsync(['dlq', 'list', '--redis', redis.url], { env: { GOVERNOR_REDIS_TIMEOUT_MS: 'soon' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('GOVERNOR_REDIS_TIMEOUT_MS: "soon" is not a number of milliseconds');
  }, 60_000);
});

describe('the deadline on a connection that was answering', () => {
  it('every command connection has the command timeout; a command to a Redis frozen after connecting fails as unavailable', async () => {
    expect(FAIL_FAST_REDIS).toMatchObject({ commandTimeout: redisTimeoutMs(), connectTimeout: redisTimeoutMs() });
    const client = redis.client({ ...deadlineRedisOptions(300), maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    expect(await client.ping()).toBe('PONG');
    freeze();
    try {
      const error = await client.get('k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRedisUnavailable(error), String(error)).toBe(true);
    } finally {
      thaw();
      client.disconnect();
    }
  }, 60_000);
});
