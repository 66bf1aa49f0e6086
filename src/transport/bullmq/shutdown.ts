import type { Node } from '../../runtime/node.ts';
import type { BullmqTransport } from './bullmq-transport.ts';

export interface SignalHandlerOptions {
  /** How long in-flight jobs get to finish before they are left to return to their queues. @default 10_000 */
  timeoutMs?: number;
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** Ends the process; tests replace it. @default process.exit */
  exit?: (code: number) => void;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT (BullMQ's `worker.close()` alone waits forever): the node
 * stops claiming partitions, in-flight jobs finish within `timeoutMs` (or return to their queue
 * when their lock runs out: nothing is lost), pending changes are committed and relayed, leases
 * are released so other nodes take over at once, and the process exits with 0 (1 if shutting
 * down failed). A second signal exits at once. Returns a function that removes the handlers.
 *
 * @example
 * const { node, transport } = await startBullmqNode({ kinds });
 * installSignalHandlers(node, transport, { timeoutMs: 15_000 });
 */
export function installSignalHandlers(node: Node, transport: BullmqTransport, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return exit(1);
    stopping = true;
    node.logger.info({ signal }, 'shutting down');
    transport
      .shutdown({ timeoutMs: options.timeoutMs ?? 10_000 })
      .then(() => node.stop())
      .then(
        () => exit(0),
        (error: unknown) => {
          node.logger.error({ err: error }, 'shutdown failed');
          exit(1);
        },
      );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
