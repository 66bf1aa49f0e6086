import type { Node } from '../../runtime/node.ts';
import type { PartitionId } from '../../store/redis-keys.ts';
import type { BullmqTransport } from './bullmq-transport.ts';
import { systemClock } from '../../runtime/clock.ts';

export interface SignalHandlerOptions {
  /** How long in-flight jobs get to finish before they are left to return to their queues. @default 10_000 */
  timeoutMs?: number;
  /**
   * How long the whole stop may take: past it the process exits anyway (Redis away or frozen
   * would otherwise hold it for as long as the client retries), and what was not handed over
   * comes back when its leases expire, as after a crash. @default timeoutMs + 5_000
   */
  deadlineMs?: number;
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /**
   * Ends the process; tests and the CLI replace it. `code` is 0 when everything was handed over,
   * 1 otherwise (the report says why). Called again, at once, on a signal after the first call.
   * @default process.exit
   */
  exit?: (code: number, report: StopReport) => void;
}

/** What a stop handed over, for the line a node prints as it goes. */
export interface StopReport {
  readonly signal: NodeJS.Signals;
  /** Every partition's lease released and the node stopped, within the deadline. */
  readonly handedOver: boolean;
  /** From the signal to the end of the hand-over (or to the deadline). */
  readonly elapsedMs: number;
  /** The partitions held when the signal came. */
  readonly partitions: readonly PartitionId[];
  /** The partitions whose leases were not released: they expire, then other nodes take them over. */
  readonly unreleased: readonly PartitionId[];
  /** Why the hand-over is incomplete. */
  readonly failure?: 'deadline' | 'second signal' | 'error';
  readonly deadlineMs: number;
  readonly error?: unknown;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT (BullMQ's `worker.close()` alone waits forever): the node
 * stops claiming partitions, in-flight jobs finish within `timeoutMs` (or return to their queue
 * when their lock runs out: nothing is lost), pending changes are committed and relayed, leases
 * are released so other nodes take over at once, and the process exits with 0. A stop that does
 * not end by `deadlineMs` (Redis away or frozen) or fails exits with 1, and so does a second
 * signal, at once. Returns a function that removes the handlers.
 *
 * @example
 * const { node, transport } = await startBullmqNode({ kinds });
 * installSignalHandlers(node, transport, { timeoutMs: 15_000 });
 */
export function installSignalHandlers(node: Node, transport: BullmqTransport, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadlineMs = options.deadlineMs ?? timeoutMs + 5_000;
  let report: StopReport | undefined;
  let finish: ((outcome: Pick<StopReport, 'unreleased' | 'failure' | 'error'>) => void) | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (report) return exit(report.handedOver ? 0 : 1, report);
    if (finish) return finish({ unreleased: transport.ownedPartitions(), failure: 'second signal' });
    const startedAt = Date.now();
    const partitions = transport.ownedPartitions();
    node.logger.info({ signal, partitions: partitions.length }, 'shutting down');
    // The deadline is real time, whatever clock the node runs on: it bounds a process's exit.
    const deadline = systemClock.setTimeout(() => finish?.({ unreleased: transport.ownedPartitions(), failure: 'deadline' }), deadlineMs);
    finish = (outcome) => {
      if (report) return;
      systemClock.clearTimeout(deadline);
      report = { signal, handedOver: outcome.failure === undefined, elapsedMs: Date.now() - startedAt, partitions, deadlineMs, ...outcome };
      if (outcome.failure === 'error') node.logger.error({ err: outcome.error }, 'shutdown failed');
      exit(report.handedOver ? 0 : 1, report);
    };
    transport
      .shutdown({ timeoutMs })
      .then(async (result) => {
        await node.stop();
        return result;
      })
      .then(
        (result) => finish?.(result.unreleased.length === 0 ? { unreleased: [] } : { unreleased: result.unreleased, failure: 'error', error: new Error('could not release the leases') }),
        (error: unknown) => finish?.({ unreleased: transport.ownedPartitions(), failure: 'error', error }),
      );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
