import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DEFAULT_METRICS_PORT } from './metrics-port.ts';
import { MetricsServerError } from './errors.ts';

export { DEFAULT_METRICS_PORT };

export interface MetricsServerOptions {
  /**
   * `0` picks a free port (see {@link MetricsServer.port}).
   * @default 9464
   */
  readonly port?: number;
  /**
   * Loopback unless told otherwise: metrics reveal the shape of a deployment. In a container, set
   * `0.0.0.0` (the Kubernetes manifests do) so Prometheus can reach it.
   * @default '127.0.0.1'
   */
  readonly host?: string;
}

export interface MetricsServer {
  readonly host: string;
  /** The port actually bound. */
  readonly port: number;
  /** `http://host:port/metrics` */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Serves a registry over HTTP: `GET /metrics` in the Prometheus text format, `GET /healthz` for
 * liveness and readiness probes (200 while the process can answer), 404 elsewhere, 405 for other
 * methods.
 *
 * @throws MetricsServerError when the port cannot be bound.
 * @example
 * const server = await serveMetrics(metrics.registry, { port: 9464, host: '0.0.0.0' });
 * // … on shutdown
 * await server.close();
 */
export async function serveMetrics(registry: Registry, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : body),
      (error: unknown) =>
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await listen(server, port, host).catch((error: unknown) => {
    throw new MetricsServerError(host, port, { cause: error });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port: bound,
    url: `http://${urlHost}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers keep connections alive; without this, close would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
