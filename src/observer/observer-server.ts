import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { GovernorError } from '../errors.ts';
import { AdminAuthError } from '../cli/admin-protocol.ts';
import { parseRef } from '../cli/ref.ts';
import { toJsonSafe } from '../cli/json-safe.ts';
import { machineSvg } from './machine-svg.ts';
import { Feed, openEventStream } from './sse-feed.ts';
import { observedTree } from './tree-snapshot.ts';
import type { ObserverSource } from './observer-source.ts';
import { entityView, auditView } from './entity-view.ts';
import { mountBullBoard, type BullBoardMount } from './bull-board.ts';
import { isLoopback } from './loopback.ts';

/** The page's files, served from the package: no CDN, no build step. */
const ASSETS = new URL('./assets/', import.meta.url);
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** How often a watched thing is read while a page listens. @default tree 250 ms, the rest 1 s */
export const INTERVALS = { treeMs: 250, entityMs: 300, slowMs: 1_000 };

/** The header that carries the admin token with an action (the server signs with it, never keeps it). */
export const TOKEN_HEADER = 'x-governor-admin-token';
const ACCESS_COOKIE = 'governor_observer';

/** The observer refuses to listen beyond loopback without a token to guard it. */
export class ObserverExposedError extends GovernorError {
  constructor(host: string) {
    super('OBSERVER_EXPOSED', `the observer binds ${host}, beyond this machine: set GOVERNOR_ADMIN_TOKEN (every request must then carry it), or bind 127.0.0.1`);
  }
}

export interface ObserverOptions {
  source: ObserverSource;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** GOVERNOR_ADMIN_TOKEN: required for a non-loopback `host`, where every request must carry it. */
  accessToken?: string;
  logger: Logger;
}

export interface RunningObserver {
  readonly url: string;
  /** Pages connected to the live streams now. */
  readonly pages: () => number;
  close(): Promise<void>;
}


/**
 * Serves the observer: the page, its live streams (Server-Sent Events), the machine drawings, the
 * dead letters, the audit trail, Bull Board read-only under `/queues`, and the admin actions.
 * Bound to 127.0.0.1 unless told otherwise; elsewhere only with the admin token, asked of every request.
 * @example
 * const observer = await startObserver({ source, port: 8081, logger });
 * console.log(`observer on ${observer.url}`);
 */
export async function startObserver(options: ObserverOptions): Promise<RunningObserver> {
  const host = options.host ?? '127.0.0.1';
  const guarded = !isLoopback(host);
  if (guarded && !options.accessToken) throw new ObserverExposedError(host);
  const { source, logger } = options;
  const assets = new Set(readdirSync(ASSETS));
  const tree = new Feed('tree', () => observedTree(source.admin), INTERVALS.treeMs);
  const nodes = new Feed('nodes', () => source.admin.nodes(), INTERVALS.slowMs);
  const dlq = new Feed('dlq', () => source.admin.dlq(), INTERVALS.slowMs);
  const streams = new Set<ServerResponse>();
  const unwatch = source.onExit?.(() => tree.poke());
  let board: BullBoardMount | undefined;
  const svgs = new Map<string, string>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://observer');
    if (guarded && !allowed(req, url, res)) return;
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) return file(res, 'index.html');
    if (req.method === 'GET' && path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      return assets.has(name) ? file(res, name) : notFound(res);
    }
    if (path === '/queues' || path.startsWith('/queues/')) {
      if (!source.queues) return json(res, 404, { ok: false, code: 'NO_QUEUES', message: 'the embedded node runs on the memory transport, without queues' });
      board ??= await mountBullBoard(source.admin, source.queues, '/queues');
      return board.handle(req, res);
    }
    if (req.method === 'GET' && path === '/api/overview') {
      return json(res, 200, { title: source.title, queues: source.queues !== undefined, kinds: [...source.machines.keys()], guarded });
    }
    if (req.method === 'GET' && path === '/api/stream') {
      openEventStream(res);
      streams.add(res);
      res.once('close', () => streams.delete(res));
      for (const feed of [tree, nodes, dlq]) feed.add(res);
      return;
    }
    if (req.method === 'GET' && path === '/api/entity/stream') {
      const raw = url.searchParams.get('ref') ?? '';
      openEventStream(res);
      // One feed per page: each watches its own entity, and stops with it. A bad ref or an entity
      // that does not exist is an event the page shows, like any failed read.
      const feed = new Feed('entity', () => entityView(source.admin, parseRef(raw)), INTERVALS.entityMs);
      streams.add(res);
      res.once('close', () => {
        streams.delete(res);
        feed.close();
      });
      feed.add(res);
      return;
    }
    if (req.method === 'GET' && path === '/api/machine') {
      const kind = url.searchParams.get('kind') ?? '';
      const machine = source.machines.get(kind);
      if (!machine) return json(res, 404, { ok: false, code: 'NO_MACHINE', message: `no entity kind ${kind}: one of ${[...source.machines.keys()].join(', ')}` });
      if (!svgs.has(kind)) svgs.set(kind, machineSvg(machine, source.drawing));
      res.writeHead(200, { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store' });
      res.end(svgs.get(kind));
      return;
    }
    if (req.method === 'GET' && path === '/api/audit') {
      return json(res, 200, { ok: true, value: await auditView(source.admin, url.searchParams.get('customer') ?? '') });
    }
    if (req.method === 'POST' && path === '/api/action') {
      const body = JSON.parse(await readBody(req)) as { command?: unknown; args?: unknown };
      const header = req.headers[TOKEN_HEADER];
      const token = typeof header === 'string' && header.length > 0 ? header : undefined;
      const args = Array.isArray(body.args) ? body.args : [];
      return json(res, 200, { ok: true, value: await source.gateway.run(String(body.command), args, token) });
    }
    return notFound(res);
  }

  /** Beyond loopback: the token as a Bearer header, or the cookie `/?token=…` sets once. */
  function allowed(req: IncomingMessage, url: URL, res: ServerResponse): boolean {
    const token = options.accessToken!;
    const given = url.searchParams.get('token');
    if (given !== null && same(given, token)) {
      res.writeHead(303, { location: '/', 'set-cookie': `${ACCESS_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` });
      res.end();
      return false;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const cookie = new RegExp(`(?:^|; )${ACCESS_COOKIE}=([^;]*)`).exec(req.headers.cookie ?? '')?.[1];
    if ((bearer && same(bearer, token)) || (cookie && same(decodeURIComponent(cookie), token))) return true;
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('this observer is reachable beyond loopback: open it as /?token=<GOVERNOR_ADMIN_TOKEN>\n');
    return false;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const code = error instanceof GovernorError ? error.code : error instanceof TypeError || error instanceof SyntaxError ? 'BAD_REQUEST' : 'FAILED';
      if (!(error instanceof GovernorError)) logger.warn({ err: error, url: req.url }, 'observer request failed');
      if (res.headersSent) return void res.end();
      // The node's refusals are 403; any other expected failure (a bad ref, an unknown letter) 400.
      json(res, error instanceof AdminAuthError || code.startsWith('ADMIN_') ? 403 : error instanceof GovernorError || code === 'BAD_REQUEST' ? 400 : 500, {
        ok: false,
        code,
        message: error instanceof Error ? error.message : String(error),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    pages: () => streams.size,
    async close() {
      unwatch?.();
      for (const feed of [tree, nodes, dlq]) feed.close();
      for (const res of streams) res.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await board?.close();
      await source.gateway.close();
    },
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function file(res: ServerResponse, name: string): void {
  const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(readFileSync(new URL(name, ASSETS)));
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(toJsonSafe(value)));
}

function notFound(res: ServerResponse): void {
  json(res, 404, { ok: false, code: 'NOT_FOUND', message: 'no such page' });
}

/** A small JSON body (an action); anything larger is refused. */
async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString();
    if (body.length > 64 * 1024) throw new TypeError('request body over 64 KiB');
  }
  return body || '{}';
}
