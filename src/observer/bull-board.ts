import type { IncomingMessage, ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Admin } from '../cli/admin.ts';

/** Bull Board, mounted on the observer's server. */
export interface BullBoardMount {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/**
 * Bull Board on the node's queues (the partitions and the DLQ, as `queues()` lists them), every
 * queue **read-only**: its retry, clean, promote and add would move jobs behind a partition's back
 * and break per-partition order. Loaded on the first visit, so a page that never opens it never
 * loads Express.
 */
export async function mountBullBoard(admin: Admin, queues: { connection: Redis; prefix: string }, basePath: string): Promise<BullBoardMount> {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
  ]);
  const names = (await admin.queues()).map((counts) => counts.queue);
  const opened = names.map((name) => {
    const queue = new Queue(name, { connection: queues.connection, prefix: queues.prefix });
    queue.on('error', () => undefined); // a read that fails shows in the board
    return queue;
  });
  const server = new ExpressAdapter();
  server.setBasePath(basePath);
  createBullBoard({ queues: opened.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })), serverAdapter: server });
  const router = server.getRouter() as (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  return {
    handle(req, res) {
      // As Express' app.use(basePath, router) would: the router sees the path below its base.
      const url = req.url ?? '/';
      Object.assign(req, { originalUrl: url, url: url.slice(basePath.length) || '/' });
      router(req, res, () => {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      });
    },
    async close() {
      await Promise.all(opened.map((queue) => queue.close()));
    },
  };
}
