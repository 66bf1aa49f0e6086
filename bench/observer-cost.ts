/**
 * What one open observer page costs a node: the node's CPU time and RSS over a window with no page
 * open, then over the same window with one page (the supervision tree tab: tree, nodes and dead
 * letters streamed) open in headless Chromium. The browser is its own process; only the node's
 * process is measured. An embedded marketplace node with `CUSTOMERS` customers (so the tree has
 * their entities), idle otherwise: the page's own cost, not the work's.
 *
 * node --expose-gc --import tsx bench/observer-cost.ts   (SECONDS=60 CUSTOMERS=100 by default)
 */
import { pino } from 'pino';
import { createNode } from '../src/create-node.ts';
import { LocalAdmin } from '../src/cli/admin.ts';
import { marketplaceOperations } from '../src/cli/embedded.ts';
import { observeNode } from '../src/observer/attach.ts';
import { startMarketplace } from '../supervisors/marketplace.ts';
import { launchBrowser } from '../test/observer/browser.ts';

const SECONDS = Number(process.env.SECONDS ?? 60);
const CUSTOMERS = Number(process.env.CUSTOMERS ?? 100);

interface Window {
  /** CPU time of the node's process (user + system) over the window, ms. */
  cpuMs: number;
  /** The same as a share of one core. */
  cpuPercent: number;
  /** Resident set size, MiB: mean and max of one sample a second. */
  rssMeanMiB: number;
  rssMaxMiB: number;
}

async function measure(seconds: number): Promise<Window> {
  globalThis.gc?.();
  const rss: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    rss.push(process.memoryUsage().rss);
  }
  const used = process.cpuUsage(cpu);
  const elapsedMs = performance.now() - started;
  const cpuMs = (used.user + used.system) / 1_000;
  const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  return { cpuMs: Math.round(cpuMs), cpuPercent: Math.round((cpuMs / elapsedMs) * 1_000) / 10, rssMeanMiB: mib(rss.reduce((a, b) => a + b, 0) / rss.length), rssMaxMiB: mib(Math.max(...rss)) };
}

export async function main(): Promise<Record<string, unknown>> {
  const logger = pino({ level: 'silent' });
  const node = createNode({ name: 'bench', logger });
  const market = startMarketplace(node);
  const admin = new LocalAdmin(node, () => market.root, marketplaceOperations(market, () => node.clock.now()), { entities: { committed: (address) => market.store.load(address) } });
  for (let i = 0; i < CUSTOMERS; i++) await admin.enqueue({ type: 'CustomerSubscribes', customerId: `c${i}`, sku: 'PRO-MONTHLY', tier: 'professional' });
  const observer = await observeNode({ endpoint: { port: 0 }, node, admin, title: 'bench', logger, token: undefined });
  const processes = node.stats.processes;

  const noPage = await measure(SECONDS);
  const browser = await launchBrowser();
  const page = await browser.context.newPage();
  await page.goto(observer.url);
  await page.waitForSelector('li.proc[data-name="marketplace"]', { timeout: 60_000 });
  const onePage = await measure(SECONDS);
  const pages = observer.pages();
  await browser.close();

  await observer.close();
  await market.stop();
  await node.stop();
  const delta = {
    cpuMs: onePage.cpuMs - noPage.cpuMs,
    cpuPercent: Math.round((onePage.cpuPercent - noPage.cpuPercent) * 10) / 10,
    rssMeanMiB: Math.round((onePage.rssMeanMiB - noPage.rssMeanMiB) * 10) / 10,
  };
  return { bench: 'observer-cost', seconds: SECONDS, customers: CUSTOMERS, processes, pagesOpen: pages, noPage, onePage, delta };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await main()));
  process.exit(0);
}
