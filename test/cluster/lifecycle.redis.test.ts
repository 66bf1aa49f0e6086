/**
 * The marketplace lifecycle end to end on a real 3-master Redis Cluster: two real `governor start`
 * node processes and the CLI (`enqueue --wait`, `repl --eval`, `dlq list`), all given the cluster
 * as `redis+cluster://…`. Events complete with their receipts, the committed states and journals
 * are where the key layout says, and the partitions' keys are spread over every master.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { keySlot } from '../support/key-slot.ts';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.ts';

let cluster: RedisClusterHandle;
const nodes: { child: ChildProcess; stderr: () => string }[] = [];
const ENV = { GOVERNOR_PSEUDONYM_KEY: 'cluster-e2e-pseudonym-key', GOVERNOR_TELEMETRY: '0', GOVERNOR_ADMIN_TOKEN: 'cluster-e2e-admin-token' };

beforeAll(async () => {
  cluster = await startRedisCluster();
  for (const name of ['cluster-1', 'cluster-2']) {
    const child = await startGovernorNode(['--redis', cluster.url, '--prefix', cluster.prefix, '--name', name], ENV);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-50_000)));
    nodes.push({ child, stderr: () => stderr });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    nodes.map(({ child }) =>
      child.exitCode === null && child.signalCode === null ? new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) : undefined,
    ),
  );
  await cluster?.stop();
}, 60_000);

const cli = (args: string[]) => governor([...args, '--redis', cluster.url, '--prefix', cluster.prefix], { env: ENV });
const logs = () => nodes.map((n) => n.stderr().slice(-3_000)).join('\n');

describe('the lifecycle on a Redis Cluster, real nodes and CLI', () => {
  const customers = ['cl-acme', 'cl-beta', 'cl-gamma', 'cl-delta', 'cl-acme:eu', 'cl-epsilon'];

  it('completes subscriptions and usage with receipts, every master holding some partitions', async () => {
    for (const customer of customers) {
      const subscribed = await cli(['enqueue', 'CustomerSubscribes', '--customer', customer, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '60']);
      expect(subscribed.stdout + subscribed.stderr + logs(), customer).toMatch(/ completed/);
      expect(subscribed.code).toBe(0);
    }
    const usage = { type: 'UsageRecorded', customerId: 'cl-acme', metric: 'compute_gb_hours', quantity: '0.25', idempotencyKey: 'u-1' };
    const used = await cli(['enqueue', '--json', JSON.stringify(usage), '--wait', '60']);
    expect(used.code, used.stdout + used.stderr).toBe(0);
    expect(used.stdout).toMatch(/completed/);

    // The committed states and journals, read through a cluster client at the keys the layout names.
    const client = cluster.client();
    const keys = new RedisKeys(cluster.prefix);
    for (const customer of customers) {
      expect(await client.hget(keys.state({ entity: 'Orchestrator', key: customer }), 'v'), customer).not.toBeNull();
      expect(await client.llen(keys.journal({ entity: 'Receipts', key: customer })), customer).toBeGreaterThan(0);
    }

    // Every master holds keys of this prefix, and each key is in a partition's slot or the fleet's.
    const fleetSlot = keySlot(keys.nodes);
    const partitionSlots = new Set(Array.from({ length: 16 }, (_, p) => keySlot(keys.lease(String(p)))));
    for (let m = 0; m < cluster.masters.length; m++) {
      const master = cluster.master(m);
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await master.scan(cursor, 'MATCH', `${cluster.prefix}:*`, 'COUNT', 1_000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      expect(found.length, `master ${m}`).toBeGreaterThan(0);
      for (const key of found) {
        const slot = keySlot(key);
        if (slot === fleetSlot || partitionSlots.has(slot)) continue;
        // The rest: node inboxes, the DLQ and tenants' rate limits, each a tag of its own.
        expect(key, 'a key outside the layout').toMatch(/\{(n\.|dlq\}|r\.)/);
      }
    }
  }, 240_000);

  it('answers the REPL and the DLQ from the cluster: both nodes, the receipt logs verified, no dead letter', async () => {
    const listed = await cli(['repl', '--eval', 'nodes()']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('cluster-1');
    expect(listed.stdout).toContain('cluster-2');

    const audit = await cli(['repl', '--eval', 'audit_verify()']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/ok: true/);
    expect(audit.stdout).toMatch(new RegExp(`chains: ${customers.length}\\b`));

    const dlq = await cli(['dlq', 'list', '--json']);
    expect(dlq.code, dlq.stderr).toBe(0);
    expect(JSON.parse(dlq.stdout)).toEqual([]);
  }, 120_000);
});
