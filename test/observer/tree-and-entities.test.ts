/**
 * The observer in a real browser (Debian's chromium driven by playwright-core) against an embedded
 * marketplace node in this process: the live supervision tree shows a crashed child's new pid and
 * restart count, an entity's machine is drawn with its current state highlighted and follows an
 * event, and an admin action without the token is refused in the page, then done with it.
 */
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode } from '../../src/create-node.ts';
import { LocalAdmin } from '../../src/cli/admin.ts';
import { marketplaceOperations } from '../../src/cli/embedded.ts';
import { observeNode } from '../../src/observer/attach.ts';
import type { RunningObserver } from '../../src/observer/observer-server.ts';
import type { Node } from '../../src/runtime/node.ts';
import type { Pid } from '../../src/runtime/pid.ts';
import { startMarketplace, type Marketplace } from '../../supervisors/marketplace.ts';
import { launchBrowser, SCREENSHOTS } from './browser.ts';

const TOKEN = 'observer-test-token';
let node: Node;
let market: Marketplace;
let admin: LocalAdmin;
let observer: RunningObserver;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
const log: { msg: string; code?: string }[] = [];

beforeAll(async () => {
  // The node's log, kept: a refused action must be logged as the REPL's are.
  const logger = pino({ level: 'info' }, { write: (line: string) => void log.push(JSON.parse(line) as { msg: string }) });
  node = createNode({ name: 'obs', logger });
  market = startMarketplace(node);
  admin = new LocalAdmin(node, () => market.root, marketplaceOperations(market, () => node.clock.now()), { entities: { committed: (address) => market.store.load(address) } });
  observer = await observeNode({ endpoint: { port: 0 }, node, admin, title: 'embedded node "obs"', logger, token: TOKEN });
  browser = await launchBrowser();
  page = await browser.context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await observer?.close();
  await market?.stop();
  await node?.stop();
});

const subscribe = { type: 'CustomerSubscribes', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' };
const row = (name: string) => `li.proc[data-name="${name}"]`;

describe('the observer page, live', () => {
  it('shows the supervision tree, and a crashed child with its new pid and one restart', async () => {
    await page.goto(observer.url);
    const kind = row('entities:Subscription');
    await page.waitForSelector(kind, { timeout: 60_000 });
    const before = await page.getAttribute(kind, 'data-pid');
    expect(before).toBe(node.whereis('entities:Subscription'));
    expect(await page.getAttribute(kind, 'data-restarts')).toBe('0');

    node.exit(before as Pid, 'kill');

    // Pushed by the server on change: the page is never reloaded.
    await page.waitForSelector(`${kind}[data-restarts="1"]`, { timeout: 60_000 });
    const after = await page.getAttribute(kind, 'data-pid');
    expect(after).not.toBe(before);
    expect(after).toBe(node.whereis('entities:Subscription'));
    await page.screenshot({ path: `${SCREENSHOTS}tree.png`, fullPage: true });
  }, 120_000);

  it("draws an entity's machine with its current state highlighted, and follows an event", async () => {
    await admin.enqueue(subscribe);
    await page.goto(`${observer.url}#entity=Subscription/c1`);
    await page.waitForSelector('#machine g.state.current[data-state="Trial"]', { timeout: 60_000 });
    expect(await page.locator('#machine g.state.current').count()).toBe(1);
    expect(await page.textContent('#entity-context')).toContain('PRO-MONTHLY');

    await admin.enqueue({ type: 'CustomerCancels', customerId: 'c1' });

    await page.waitForSelector('#machine g.state.current[data-state="Cancelled"]', { timeout: 60_000 });
    expect(await page.locator('#machine g.state.current').count()).toBe(1);
    expect(await page.textContent('#entity-trace')).toMatch(/Trial[\s\S]*Cancelled/);
    await page.screenshot({ path: `${SCREENSHOTS}entity.png`, fullPage: true });
  }, 120_000);

  it('refuses an admin action without the token, in the page and in the log; with it, the action runs', async () => {
    await page.goto(`${observer.url}#tree`);
    const entities = row('entities');
    await page.waitForSelector(`${entities} > .row button.restart`, { timeout: 60_000 });
    const before = await page.getAttribute(entities, 'data-pid');

    await page.click(`${entities} > .row button.restart`);

    await page.waitForSelector('#notice.refused', { timeout: 60_000 });
    expect(await page.getAttribute('#notice', 'data-code')).toBe('ADMIN_UNSIGNED');
    expect(log).toContainEqual(expect.objectContaining({ msg: 'admin command refused', code: 'ADMIN_UNSIGNED' }));
    expect(node.whereis('entities')).toBe(before);
    await page.screenshot({ path: `${SCREENSHOTS}refused.png` });

    await page.fill('#token', TOKEN);
    await page.click(`${entities} > .row button.restart`);
    await page.waitForSelector('#notice:not(.refused)', { timeout: 60_000 });
    await expect.poll(() => page.getAttribute(entities, 'data-pid'), { timeout: 60_000 }).not.toBe(before);
  }, 120_000);

  it("shows a customer's audit trail with its verification status", async () => {
    await page.goto(`${observer.url}#audit=c1`);
    await page.waitForSelector('#audit-status[data-ok="true"]', { timeout: 60_000 });
    // One receipt per lifecycle event of c1: the subscription, then the cancellation.
    expect(await page.locator('#audit tr.receipt').count()).toBe(2);
    expect(await page.textContent('#audit-status')).toContain('verified: 2 receipt(s)');
    expect(await page.locator('#audit tr.receipt td').nth(2).textContent()).toBe('CustomerSubscribes');
    await page.screenshot({ path: `${SCREENSHOTS}audit.png` });
  }, 120_000);

  it('says so when asked for an entity that does not exist', async () => {
    await page.goto(`${observer.url}#entity=Subscription/nobody`);
    await page.waitForSelector('#entity-error:not([hidden])', { timeout: 60_000 });
    expect(await page.textContent('#entity-error')).toContain('Subscription/nobody');
  }, 120_000);
});
