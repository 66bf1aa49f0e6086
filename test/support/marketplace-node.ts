import { pino } from 'pino';
import { marketplaceKinds } from '../../machines/index.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';

/** A silent BullMQ node hosting the marketplace's kinds, on `url` under `prefix`. */
export function startMarketplaceNode(url: string, prefix: string, name: string, options: { partitions: number; pseudonymKey: string }): Promise<BullmqNode> {
  return startBullmqNode({
    url,
    prefix,
    name,
    partitions: options.partitions,
    kinds: marketplaceKinds({ pseudonymKey: options.pseudonymKey }),
    logger: pino({ level: 'silent' }),
  });
}
