/**
 * The observer's security rule: bound to 127.0.0.1 by default; any other address only with the
 * admin token, which every request must then carry (the start line says so); refused at start
 * without it (exit 2).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode } from '../../src/create-node.ts';
import { LocalAdmin } from '../../src/cli/admin.ts';
import { localGateway } from '../../src/observer/admin-gateway.ts';
import { startObserver, type RunningObserver } from '../../src/observer/observer-server.ts';
import type { ObserverSource } from '../../src/observer/observer-source.ts';
import type { Node } from '../../src/runtime/node.ts';
import { startMarketplace, type Marketplace } from '../../supervisors/marketplace.ts';
import { governor } from '../cli/governor-command.ts';

const TOKEN = 'bind-test-token';
const logger = pino({ level: 'silent' });
let node: Node;
let market: Marketplace;
let source: ObserverSource;
const running: RunningObserver[] = [];

beforeAll(() => {
  node = createNode({ name: 'bind', logger });
  market = startMarketplace(node);
  const admin = new LocalAdmin(node, () => market.root);
  source = { title: 'bind', admin, gateway: localGateway({ admin, node: node.name, nodeToken: TOKEN, logger }), machines: new Map() };
});
afterAll(async () => {
  for (const observer of running) await observer.close();
  await market.stop();
  await node.stop();
});

const start = async (host: string | undefined, accessToken?: string) => {
  const observer = await startObserver({ source, port: 0, ...(host && { host }), ...(accessToken && { accessToken }), logger });
  running.push(observer);
  return observer;
};

describe('where the observer listens', () => {
  it('binds 127.0.0.1 by default, and serves the page without a token there', async () => {
    const observer = await start(undefined);
    expect(observer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(observer.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Governor observer');
  });

  it('refuses to bind beyond loopback without the token', async () => {
    await expect(start('0.0.0.0')).rejects.toMatchObject({ code: 'OBSERVER_EXPOSED' });
  });

  it('beyond loopback, asks every request for the token: a Bearer header, or the cookie /?token= sets', async () => {
    const observer = await start('0.0.0.0', TOKEN);
    const base = observer.url.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${base}api/overview`)).status).toBe(401);
    expect((await fetch(`${base}api/overview`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const login = await fetch(`${base}?token=${TOKEN}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toContain('governor_observer=');
    expect((await fetch(`${base}api/overview`, { headers: { cookie } })).status).toBe(200);
  });

  it('governor start --observer-host beyond loopback without GOVERNOR_ADMIN_TOKEN exits 2 and says why', () => {
    const run = governor(['start', '--embedded', '--observer', '0', '--observer-host', '0.0.0.0'], { env: { GOVERNOR_ADMIN_TOKEN: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('set GOVERNOR_ADMIN_TOKEN');
  }, 60_000);

  it('governor observe --port checks the port', () => {
    const run = governor(['observe', '--embedded', '--port', 'eighty']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--port: "eighty" is not a port');
  }, 60_000);
});
