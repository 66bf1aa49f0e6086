import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RemoteAdmin } from '../cli/remote-admin.ts';
import { remoteGateway } from './admin-gateway.ts';
import { MARKETPLACE_DRAWING, marketplaceMachines, startAnnounced, type ObserverEndpoint } from './attach.ts';
import type { RunningObserver } from './observer-server.ts';

/**
 * `governor observe --redis`: the observer of a running cluster, from outside it. Reads go to
 * `node` over the REPL's admin protocol (what Redis holds, it reads itself); actions are
 * requests the node's admin listener checks, logs and counts as it does the REPL's.
 */
export async function observeCluster(options: {
  /** Three connections of their own: reads, actions (both block in BLPOP), and Bull Board's. */
  connect: () => Redis;
  prefix: string;
  partitions?: number;
  node: string;
  title: string;
  endpoint: ObserverEndpoint;
  token: string | undefined;
  logger: Logger;
}): Promise<RunningObserver> {
  const reads = new RemoteAdmin(options.connect(), options.prefix, options.node, undefined, options.partitions === undefined ? {} : { partitions: options.partitions });
  const board = options.connect();
  const observer = await startAnnounced(
    {
      title: options.title,
      admin: reads,
      gateway: remoteGateway({ redis: options.connect(), prefix: options.prefix, node: async () => options.node, logger: options.logger }),
      machines: marketplaceMachines(),
      drawing: MARKETPLACE_DRAWING,
      queues: { connection: board, prefix: options.prefix },
    },
    options.endpoint,
    options.token,
    options.logger,
  );
  return {
    url: observer.url,
    pages: observer.pages,
    async close() {
      await observer.close();
      await reads.close();
      reads.redis.disconnect();
      board.disconnect();
    },
  };
}
