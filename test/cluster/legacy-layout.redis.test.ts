/**
 * A Redis holding data in key layout 1 (every key under one `{governor}` hash tag, before Redis
 * Cluster support) is never silently started empty beside: a node refuses it, naming the key it
 * found and the migration command, and writes nothing.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyKeyLayoutError } from '../../src/store/layout-check.ts';
import { startBullmqNode } from '../../src/transport/bullmq/index.ts';
import { governor } from '../cli/governor-command.ts';
import { counter } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

async function keysUnder(prefix: string): Promise<string[]> {
  return redis.client().keys(`${prefix}*`);
}

describe('data in key layout 1', () => {
  it.each([
    ['the old default form: {name} for the prefix name', (name: string) => `{${name}}`, (name: string) => name],
    ['the same prefix', (name: string) => name, (name: string) => name],
  ])('under %s: the node refuses to start, writing nothing, and says how to migrate', async (_case, legacyOf, prefixOf) => {
    const name = `${redis.prefix}legacy${++serial}`;
    const legacy = legacyOf(name);
    const prefix = prefixOf(name);
    await redis.client().hset(`${legacy}:g:epoch`, 'id', 'feedfeedfeedfeed', 'seq', '41');
    const before = await keysUnder(name);

    let error: unknown;
    try {
      await startBullmqNode({ url: redis.url, prefix, name: 'n1', kinds: [{ kind: 'Counter', machine: counter }], partitions: 2, logger: pino({ level: 'silent' }) });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LegacyKeyLayoutError);
    expect((error as LegacyKeyLayoutError).code).toBe('KEY_LAYOUT_LEGACY');
    expect((error as Error).message).toContain(`found ${legacy}:g:epoch`);
    expect((error as Error).message).toContain(`governor migrate-layout --redis <url> --from-prefix '${legacy}' --prefix '${prefix}'`);
    expect((await keysUnder(name)).sort()).toEqual(before.sort());
  });

  it('governor start exits 2 with the same message', async () => {
    const name = `${redis.prefix}legacy${++serial}`;
    await redis.client().hset(`{${name}}:g:epoch`, 'id', 'feedfeedfeedfeed', 'seq', '41');
    const started = governor(['start', '--redis', redis.url, '--prefix', name, '--name', 'n1'], { env: { GOVERNOR_TELEMETRY: '0', GOVERNOR_PSEUDONYM_KEY: 'k' } });
    expect(started.code, started.stderr).toBe(2);
    expect(started.stderr).toContain(`Redis holds Governor data in key layout 1 under the prefix "{${name}}"`);
    expect(started.stderr).toContain('governor migrate-layout');
  });
});
