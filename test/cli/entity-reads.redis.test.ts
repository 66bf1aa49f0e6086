/**
 * An operator reads any customer, wherever it is: `get_state` of an entity answers from the live
 * actor where it is resident, else from its committed state in Redis (`resident: false`), asked of
 * the node holding its partition; `nodes()` says who holds which partition. Real `governor start`
 * processes on a private Redis, read with `governor repl --eval`.
 */
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { eventually } from '../transport/conformance.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNode } from './governor-command.ts';

const PREFIX = '{reads}';
const ENV = { GOVERNOR_PSEUDONYM_KEY: 'k'.repeat(43), GOVERNOR_TELEMETRY: '0' };
const keys = new RedisKeys(PREFIX);
let redis: RedisHandle;
const nodes: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
}, 30_000);
afterAll(async () => {
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill('SIGKILL');
  await redis?.stop();
});

const start = async (name: string) => {
  const node = await startGovernorNode(['--redis', redis.url, '--prefix', PREFIX, '--name', name], ENV);
  nodes.push(node);
  return node;
};
const repl = (expr: string) => governor(['repl', '--redis', redis.url, '--prefix', PREFIX, '--eval', expr]);
const stop = (node: ChildProcess) => new Promise<number | null>((resolve) => (node.once('exit', resolve), node.kill('SIGTERM')));

describe('reading customers on BullMQ nodes', () => {
  it('a customer just processed is read live on its node', async () => {
    const n1 = await start('n1');
    const enq = governor(['enqueue', 'CustomerSubscribes', '--customer', 'c1', '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--redis', redis.url, '--prefix', PREFIX, '--wait']);
    expect(enq.code, enq.stderr).toBe(0);
    const run = repl("get_state('Billing/c1')");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("resident: 'n1'");
    expect(run.stdout).toMatch(/version: [1-9]/);
    const data = repl("get_state('Billing/c1').context.data.plan.sku");
    expect(data.stdout.trim(), data.stderr).toBe('PRO-MONTHLY');
    expect(await stop(n1)).toBe(0);
  }, 60_000);

  it('on a node that has not loaded it, from its committed state: resident false, as state() and get_status() say too', async () => {
    await start('n2');
    const run = repl("get_state('Billing/c1')");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('resident: false');
    expect(run.stdout).toMatch(/version: [1-9]/);
    expect(repl("get_state('Billing/c1').context.data.plan.sku").stdout.trim()).toBe('PRO-MONTHLY');
    expect(repl("state('Billing', 'c1').resident").stdout.trim()).toBe('false');
    const status = repl("get_status('Billing/c1')");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("status: 'not in memory'");
  }, 60_000);

  it('nodes() lists the partitions each node holds, and a non-holder names the holder', async () => {
    await start('n3');
    // Both nodes share the 16 partitions once n2 has handed half over.
    let listing = '';
    await eventually(async () => {
      const run = repl("nodes().map((n) => n.name + '=' + n.partitions.join(','))");
      listing = run.stdout;
      expect(listing).toMatch(/'n2=[\d,]+'/);
      expect(listing).toMatch(/'n3=[\d,]+'/);
      const counts = [...listing.matchAll(/'n\d=([\d,]+)'/g)].map((m) => m[1]!.split(',').length);
      expect(counts).toEqual([8, 8]);
    }, 30_000);
    const uptime = repl("nodes().map((n) => [n.name, n.alive, n.placement, typeof n.uptime])");
    expect(uptime.stdout).toContain("'sharded', 'string'");

    // Ask the node that does not hold c1's partition, bypassing the REPL's routing to the holder.
    const holder = (await redis.client().get(keys.lease(await partitionOf('c1'))))!;
    const other = holder === 'n2' ? 'n3' : 'n2';
    const reply = await rawRead(other, 'get_state', ['Billing/c1']);
    expect(reply).toMatchObject({ ok: true, value: { resident: false, holder } });
  }, 60_000);

  it('an entity that never handled a message is NOPROC, saying so', () => {
    const run = repl("get_state('Billing/nobody')");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('NOPROC: no such entity: Billing/nobody');
  });
});

async function partitionOf(key: string): Promise<string> {
  const { KeyPartitions } = await import('../../src/store/key-partitions.ts');
  return new KeyPartitions(16, 'sharded').partitionOf({ entity: 'Billing', key });
}

/** An unsigned read request straight onto one node's admin list, as `governor repl` sends it. */
async function rawRead(node: string, command: string, args: unknown[]): Promise<unknown> {
  const client = redis.client();
  const id = randomUUID();
  await client.rpush(keys.adminRequests(node), JSON.stringify({ id, node, command, args, nonce: randomUUID(), issuedAt: Date.now() }));
  const reply = await client.blpop(keys.adminReply(id), 5);
  return JSON.parse(reply![1]) as unknown;
}
