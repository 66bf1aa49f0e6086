/**
 * The observer's admin actions go through the REPL's signed protocol: built and signed with the
 * token the page sends, checked against the node's token by the protocol's own rules; a refusal
 * is logged and counted as the admin listener does; only the page's actions are accepted.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNode } from '../../src/create-node.ts';
import { LocalAdmin } from '../../src/cli/admin.ts';
import { localGateway } from '../../src/observer/admin-gateway.ts';
import type { Node } from '../../src/runtime/node.ts';
import { startMarketplace, type Marketplace } from '../../supervisors/marketplace.ts';

const TOKEN = 'gateway-token';
let node: Node;
let market: Marketplace;
let admin: LocalAdmin;
let log: { msg: string; code?: string; via?: string }[];
let refused: string[];

beforeEach(() => {
  log = [];
  refused = [];
  node = createNode({ name: 'gw', logger: pino({ level: 'silent' }) });
  market = startMarketplace(node);
  admin = new LocalAdmin(node, () => market.root);
});
afterEach(async () => {
  await market.stop();
  await node.stop();
});

const gateway = (nodeToken: string | undefined) =>
  localGateway({
    admin,
    node: node.name,
    nodeToken,
    logger: pino({ level: 'info' }, { write: (line: string) => void log.push(JSON.parse(line) as { msg: string }) }),
    onRefused: (code) => refused.push(code),
  });

describe('the observer admin gateway', () => {
  it('refuses an action without a token (ADMIN_UNSIGNED), logs and counts it, and nothing changes', async () => {
    const pid = node.whereis('entities');
    await expect(gateway(TOKEN).run('suspend', [pid], undefined)).rejects.toMatchObject({ code: 'ADMIN_UNSIGNED' });
    expect(refused).toEqual(['ADMIN_UNSIGNED']);
    expect(log).toContainEqual(expect.objectContaining({ msg: 'admin command refused', code: 'ADMIN_UNSIGNED', via: 'observer' }));
    expect((await admin.get_status(pid)) as { status: string }).toMatchObject({ status: 'running' });
  });

  it('refuses a wrong token (ADMIN_BAD_SIGNATURE), and everything on a node without one (ADMIN_NO_TOKEN)', async () => {
    await expect(gateway(TOKEN).run('suspend', ['entities'], 'not-the-token')).rejects.toMatchObject({ code: 'ADMIN_BAD_SIGNATURE' });
    await expect(gateway(undefined).run('suspend', ['entities'], TOKEN)).rejects.toMatchObject({ code: 'ADMIN_NO_TOKEN' });
    expect(refused).toEqual(['ADMIN_BAD_SIGNATURE', 'ADMIN_NO_TOKEN']);
  });

  it('runs an action signed with the node\'s token, and logs it', async () => {
    const pid = node.whereis('entities');
    await expect(gateway(TOKEN).run('suspend', [pid], TOKEN)).resolves.toBe('ok');
    expect((await admin.get_status(pid)) as { status: string }).toMatchObject({ status: 'suspended' });
    await gateway(TOKEN).run('resume', [pid], TOKEN);
    expect((await admin.get_status(pid)) as { status: string }).toMatchObject({ status: 'running' });
    expect(log.filter((line) => line.msg === 'admin command')).toHaveLength(2);
    expect(refused).toEqual([]);
  });

  it('takes only the page\'s actions, whatever the token', async () => {
    await expect(gateway(TOKEN).run('replace_state', ['entities', {}], TOKEN)).rejects.toMatchObject({ code: 'OBSERVER_UNKNOWN_ACTION' });
  });
});
