import { describe, expect, it } from 'vitest';
import { SimulatedClock, createNode, sys, type Pid } from '../../src/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import { GOVERNORS } from '../../machines/governor-protocol.ts';

function market(options: Parameters<typeof startMarketplace>[1] = {}) {
  const clock = new SimulatedClock(Date.parse('2026-01-05T10:00:00Z'));
  const node = createNode({ clock });
  const app = startMarketplace(node, { pseudonymKey: 'supervision-test-key-0123456789', ...options });
  const subscribe = (customerId: string) =>
    app.submit({ eventId: `sub-${customerId}`, customerId, occurredAt: new Date(clock.now()).toISOString(), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' });
  const pid = (name: string) => node.whereis(name) as Pid;
  return { node, app, subscribe, pid };
}

describe('the marketplace supervision tree', () => {
  it('is a root over the entity host, with one supervisor per kind', () => {
    const { node, app } = market();
    const tree = sys.tree(node, app.root);
    expect(tree).toMatchObject({ id: 'marketplace', kind: 'supervisor', stateValue: 'one_for_one' });
    const entities = tree.children?.[0];
    expect(entities).toMatchObject({ id: 'entities', kind: 'supervisor', stateValue: 'one_for_one' });
    expect(entities?.children?.map((c) => c.id)).toEqual(['Orchestrator', ...GOVERNORS, 'Receipts']);
    for (const kind of entities?.children ?? []) expect(kind.stateValue).toBe('simple_one_for_one');
  });

  it('restarts a crashed actor alone: not another customer’s, not another governor of the same customer', async () => {
    const { node, subscribe, pid } = market();
    await subscribe('a');
    await subscribe('b');
    const before = ['entity:Billing/b', 'entity:Entitlement/a', 'entity:Orchestrator/a', 'entities:Billing'].map(pid);
    const crashed = pid('entity:Billing/a');
    node.exit(crashed, 'boom');
    await node.settle();
    expect(pid('entity:Billing/a')).not.toBe(crashed);
    expect(['entity:Billing/b', 'entity:Entitlement/a', 'entity:Orchestrator/a', 'entities:Billing'].map(pid)).toEqual(before);
  });

  it('a kind whose actors keep crashing is restarted alone, empty, and its actors come back from the store', async () => {
    const { node, app, subscribe, pid } = market({ entities: { intensity: 2, period: 60 } });
    await subscribe('a');
    const kinds = ['entities:Entitlement', 'entities:Orchestrator', 'entities:Receipts', 'entities'].map(pid);
    const billingSupervisor = pid('entities:Billing');
    for (let i = 0; i < 3; i++) {
      node.exit(pid('entity:Billing/a'), 'boom');
      await node.settle();
    }
    expect(pid('entities:Billing')).not.toBe(billingSupervisor);
    expect(['entities:Entitlement', 'entities:Orchestrator', 'entities:Receipts', 'entities'].map(pid)).toEqual(kinds);
    // Billing of customer a is gone from memory, and back on its next message with its state.
    expect(node.whereis('entity:Billing/a')).toBeUndefined();
    expect(app.stateOf('Billing', 'a')).toMatchObject({ value: 'AwaitingInvoice', context: { data: { plan: { sku: 'PRO-MONTHLY' } } } });
    expect(await node.call({ entity: 'Billing', key: 'a' }, { type: 'inspect' })).toMatchObject({ state: 'AwaitingInvoice', version: 1 });
  });
});
