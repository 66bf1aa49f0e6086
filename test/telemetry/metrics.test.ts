import { createServer } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createNode } from '../../src/create-node.ts';
import { spawnStatem } from '../../src/runtime/statem.ts';
import { suspend } from '../../src/runtime/sys.ts';
import {
  createMetrics,
  MetricsServerError,
  sampleNode,
  serveMetrics,
  type MetricsServer,
} from '../../src/observability/index.ts';

const servers: MetricsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(...args: Parameters<typeof serveMetrics>): Promise<MetricsServer> {
  const server = await serveMetrics(...args);
  servers.push(server);
  return server;
}

/** The value of one series in Prometheus text, matched by name and a subset of its labels. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, expected]) => found[key] === expected)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(server: MetricsServer): Promise<string> {
  const response = await fetch(server.url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

const counter = setup({ types: {} as { context: { n: number }; events: { type: 'inc' } } }).createMachine({
  id: 'Billing',
  context: { n: 0 },
  on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});
const catalog = setup({}).createMachine({ id: 'ProductCatalog' });

describe('the metrics endpoint, scraped over HTTP during a run', () => {
  it('reports live actors, mailboxes and what the run counted, and follows changes between scrapes', async () => {
    const node = createNode({ name: 'metrics-test' });
    const metrics = createMetrics({ defaultLabels: { node: 'metrics-test' }, sample: () => sampleNode(node) });
    const server = await serve(metrics.registry, { port: 0 });

    const billing = [spawnStatem(node, counter), spawnStatem(node, counter), spawnStatem(node, counter)];
    spawnStatem(node, catalog);
    suspend(node, billing[0]!);
    for (let i = 0; i < 5; i++) node.cast(billing[0]!, { type: 'inc' });
    for (let i = 0; i < 7; i++) {
      node.cast(billing[1]!, { type: 'inc' });
      metrics.messagesIn.inc({ kind: 'Billing' });
    }
    metrics.lifecycleLatency.observe({ type: 'CustomerSubscribes', outcome: 'applied' }, 0.004);
    metrics.lifecycleLatency.observe({ type: 'CustomerSubscribes', outcome: 'applied' }, 0.2);
    metrics.duplicates.inc({ type: 'CustomerSubscribes' });
    metrics.conflicts.inc({ resolution: 'compensation' });
    metrics.compensations.inc({ governor: 'Billing' }, 2);
    metrics.supervisorRestarts.inc({ supervisor: 'marketplace' });
    metrics.queueDepth.set({ partition: '3', state: 'waiting' }, 12);
    metrics.deadLetters.set({ queue: 'lifecycle-dlq' }, 1);

    const first = await scrape(server);
    expect(value(first, 'governor_actors_alive', { kind: 'Billing', node: 'metrics-test' })).toBe(3);
    expect(value(first, 'governor_actors_alive', { kind: 'ProductCatalog' })).toBe(1);
    expect(value(first, 'governor_mailbox_messages', { kind: 'Billing' })).toBe(5);
    expect(value(first, 'governor_mailbox_max_length', { kind: 'Billing' })).toBe(5);
    expect(value(first, 'governor_messages_received_total', { kind: 'Billing' })).toBe(7);
    expect(value(first, 'governor_lifecycle_event_duration_seconds_count', { type: 'CustomerSubscribes' })).toBe(2);
    expect(value(first, 'governor_lifecycle_event_duration_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(value(first, 'governor_lifecycle_event_duration_seconds_bucket', { le: '0.25' })).toBe(2);
    expect(value(first, 'governor_lifecycle_duplicates_total', { type: 'CustomerSubscribes' })).toBe(1);
    expect(value(first, 'governor_conflicts_total', { resolution: 'compensation' })).toBe(1);
    expect(value(first, 'governor_compensations_total', { governor: 'Billing' })).toBe(2);
    expect(value(first, 'governor_supervisor_restarts_total', { supervisor: 'marketplace' })).toBe(1);
    expect(value(first, 'governor_queue_depth', { partition: '3', state: 'waiting' })).toBe(12);
    expect(value(first, 'governor_dead_letters', { queue: 'lifecycle-dlq' })).toBe(1);
    // Node's default metrics under their standard names, as stock Node.js dashboards expect.
    expect(value(first, 'process_resident_memory_bytes') ?? value(first, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(value(first, 'governor_process_resident_memory_bytes')).toBeUndefined();

    // The run goes on: an actor dies, the last kind disappears, the suspended mailbox grows.
    node.exit(billing[2]!, 'kill');
    node.exit([...node.processes()].find((p) => p.kind === 'statem' && (p as { machine?: { id: string } }).machine?.id === 'ProductCatalog')!.pid, 'kill');
    node.cast(billing[0]!, { type: 'inc' });
    const second = await scrape(server);
    expect(value(second, 'governor_actors_alive', { kind: 'Billing' })).toBe(2);
    expect(value(second, 'governor_actors_alive', { kind: 'ProductCatalog' })).toBeUndefined();
    expect(value(second, 'governor_mailbox_messages', { kind: 'Billing' })).toBe(6);
  });

  it('samples once per scrape, whatever the number of sampled gauges', async () => {
    let samples = 0;
    const metrics = createMetrics({
      processMetrics: false,
      sample: async () => {
        samples++;
        return { actorsAlive: { a: samples }, mailboxes: { a: { messages: samples, maxLength: 1 } }, deadLetters: { q: samples } };
      },
    });
    const text = await metrics.registry.metrics();
    expect(samples).toBe(1);
    expect(value(text, 'governor_actors_alive', { kind: 'a' })).toBe(1);
    expect(value(text, 'governor_dead_letters', { queue: 'q' })).toBe(1);
    await metrics.registry.metrics();
    expect(samples).toBe(2);
  });

  it('uses a registry of its own, never prom-client’s global one', async () => {
    const metrics = createMetrics({ prefix: 'isolated_', processMetrics: false });
    metrics.conflicts.inc({ resolution: 'last-write-wins' });
    expect(await globalRegistry.metrics()).not.toContain('isolated_');
    expect(await metrics.registry.metrics()).toContain('isolated_conflicts_total');
    // Two nodes in one process (tests, the embedded demo) do not collide.
    expect(() => createMetrics({ prefix: 'isolated_', processMetrics: false })).not.toThrow();
  });
});

describe('the metrics HTTP server', () => {
  it('answers /healthz, 404 elsewhere and 405 for other methods', async () => {
    const server = await serve(createMetrics({ processMetrics: false }).registry, { port: 0 });
    const base = server.url.replace(/\/metrics$/, '');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(server.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${server.url}?x=1`)).status).toBe(200);
  });

  it('answers 500 when collection fails, and keeps serving', async () => {
    let fail = true;
    const metrics = createMetrics({
      processMetrics: false,
      sample: () => {
        if (fail) throw new Error('queue unreachable');
        return {};
      },
    });
    const server = await serve(metrics.registry, { port: 0 });
    const response = await fetch(server.url);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('queue unreachable');
    fail = false;
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('reports a taken port with a stable code', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const attempt = serveMetrics(createMetrics({ processMetrics: false }).registry, { port });
      await expect(attempt).rejects.toThrow(MetricsServerError);
      await expect(attempt).rejects.toMatchObject({ code: 'METRICS_SERVER_FAILED' });
    } finally {
      blocker.close();
    }
  });
});
