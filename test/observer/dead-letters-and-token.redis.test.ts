/**
 * The observer of a real `governor start --redis … --observer 0` process on a private Redis, in
 * Debian's chromium: a poison message the node dead-letters shows in the DLQ view with its reason;
 * replaying it without the admin token is refused in the page, and the node logs and counts the
 * refusal as it does the REPL's; with the token it is replayed. Bull Board is mounted read-only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { GOVERNOR_COMMAND } from '../cli/governor-command.ts';
import { launchBrowser, SCREENSHOTS } from './browser.ts';

const TOKEN = 'observer-admin-token';
const files = privateRedisForFile();
let prefix: string;
let node: ChildProcess;
let log = '';
let observerUrl: string;
let metricsUrl: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;

/** Starts the node and resolves once it printed both URLs, the observer's and the metrics'. */
function startNode(): Promise<void> {
  node = spawn(process.execPath, [...GOVERNOR_COMMAND, 'start', '--redis', files.redis.url, '--prefix', prefix, '--name', 'obs-1', '--observer', '0', '--metrics-port', '0', '--log-level', 'info'], {
    env: { ...process.env, GOVERNOR_ADMIN_TOKEN: TOKEN, GOVERNOR_PSEUDONYM_KEY: 'k'.repeat(43), GOVERNOR_TELEMETRY: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    node.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const observer = /observer on (http:\/\/\S+\/)/.exec(log)?.[1];
      const metrics = /metrics on (http:\/\/\S+\/metrics)/.exec(log)?.[1];
      if (observer && metrics) {
        observerUrl = observer;
        metricsUrl = metrics;
        resolve();
      }
    });
    node.once('exit', (code) => reject(new Error(`governor start exited (${code}):\n${log}`)));
  });
}

beforeAll(async () => {
  prefix = files.prefix('observer');
  await startNode();
  browser = await launchBrowser();
  page = await browser.context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (node && node.exitCode === null && node.signalCode === null) {
    await new Promise((resolve) => (node.once('exit', resolve), node.kill('SIGTERM')));
  }
}, 60_000);

const refusedCount = async () => {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/governor_admin_requests_refused_total\{code="ADMIN_UNSIGNED"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
};

describe('the observer of a BullMQ node', () => {
  it('shows the cluster: the node, alive, with the partitions it holds', async () => {
    await page.goto(`${observerUrl}#cluster`);
    const row = page.locator('#nodes tr[data-node="obs-1"]');
    await row.waitFor({ timeout: 60_000 });
    expect(await row.locator('td').nth(1).textContent()).toBe('alive');
    // Alone on its Redis, it holds every partition (16, the default).
    await expect.poll(async () => (await row.locator('td').nth(2).textContent())?.split(', ').length, { timeout: 60_000 }).toBe(16);
    await page.screenshot({ path: `${SCREENSHOTS}cluster.png` });
  }, 120_000);

  it('shows a poison message in the DLQ view with its reason', async () => {
    await page.goto(`${observerUrl}#dlq`);
    await page.waitForSelector('#live.live', { timeout: 60_000 });
    const producer = await GovernorProducer.connect({ url: files.redis.url, prefix });
    try {
      // The orchestrator takes lifecycle events only: the node dead-letters this one, with why.
      await producer.send({ entity: 'Orchestrator', key: 'c-poison' }, { type: 'bogus' }, { id: 'poison-1' });
    } finally {
      await producer.close();
    }
    const letter = page.locator('#dlq tr.letter').first();
    await letter.waitFor({ timeout: 60_000 });
    expect(await letter.locator('.reason').textContent()).toContain('Orchestrator takes no "bogus" messages');
    expect(await letter.locator('td').nth(5).textContent()).toContain('poison-1');
    await page.screenshot({ path: `${SCREENSHOTS}dead-letters.png`, fullPage: true });
  }, 120_000);

  it('refuses a replay without the token in the page; the node logs and counts it; with the token it is replayed', async () => {
    const before = await refusedCount();
    const first = await page.getAttribute('#dlq tr.letter', 'data-id');
    await page.click('#dlq tr.letter button.replay');
    await page.waitForSelector('#notice.refused', { timeout: 60_000 });
    expect(await page.getAttribute('#notice', 'data-code')).toBe('ADMIN_UNSIGNED');
    await expect.poll(() => log, { timeout: 60_000 }).toContain('admin command refused');
    expect(log).toMatch(/"code":"ADMIN_UNSIGNED"[^\n]*"msg":"admin command refused"|"msg":"admin command refused"[^\n]*"code":"ADMIN_UNSIGNED"/);
    await expect.poll(refusedCount, { timeout: 60_000 }).toBe(before + 1);
    expect(await page.locator('#dlq tr.letter').count()).toBe(1);

    await page.fill('#token', TOKEN);
    await page.click('#dlq tr.letter button.replay');
    await page.waitForSelector('#notice:not(.refused)', { timeout: 60_000 });
    expect(await page.textContent('#notice')).toMatch(/^dlq_replay\(.*"jobId"/);
    // Replayed, the message is dead-lettered again (it is still bogus) under a new id: the letter
    // the page replayed is gone from the list.
    await expect.poll(() => page.locator('#dlq tr.letter').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id'))), { timeout: 60_000 }).not.toContain(first);
  }, 120_000);

  it('mounts Bull Board on the node\'s queues, every one read-only', async () => {
    const queues = (await (await fetch(`${observerUrl}queues/api/queues?activeQueue=&page=1&jobsPerPage=10`)).json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(queues.queues.length).toBeGreaterThan(1);
    expect(queues.queues.every((queue) => queue.readOnlyMode)).toBe(true);
    await page.goto(`${observerUrl}queues`);
    await page.waitForSelector(`text=${queues.queues[0]!.name}`, { timeout: 60_000 });
    // The DLQ's dead letters (the replayed one is back there), as Bull Board lists them.
    await page.click('text={dlq}');
    await page.waitForSelector('text=dead-letter', { timeout: 60_000 });
    await page.screenshot({ path: `${SCREENSHOTS}queues.png` });
  }, 120_000);

  it('governor observe --redis shows the same node from outside it, reading over the admin protocol; an action without the token is refused', async () => {
    const observe = spawn(process.execPath, [...GOVERNOR_COMMAND, 'observe', '--redis', files.redis.url, '--prefix', prefix, '--port', '0'], {
      env: { ...process.env, GOVERNOR_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    observe.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await expect.poll(() => /observer on (http:\/\/\S+\/)/.exec(out)?.[1], { timeout: 60_000 }).toBeDefined();
      const url = /observer on (http:\/\/\S+\/)/.exec(out)![1]!;
      const other = await browser.context.newPage();
      await other.goto(url);
      const entities = 'li.proc[data-name="entities:Orchestrator"]';
      await other.waitForSelector(`${entities}[data-pid^="<obs-1."]`, { timeout: 60_000 });
      await other.click(`${entities} > .row button.restart`);
      await other.waitForSelector('#notice.refused', { timeout: 60_000 });
      // Refused before it is sent, as the REPL refuses it: this observer holds no token.
      expect(await other.getAttribute('#notice', 'data-code')).toBe('ADMIN_NO_TOKEN');
      await other.close();
    } finally {
      await new Promise((resolve) => (observe.once('exit', resolve), observe.kill('SIGTERM')));
    }
  }, 120_000);
});
