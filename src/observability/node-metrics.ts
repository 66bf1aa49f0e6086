import type { Node } from '../runtime/node.ts';
import type { ProcessRecord as Process } from '../runtime/process-record.ts';
import { SupervisorProcess } from '../runtime/supervisor/supervisor.ts';
import type { MetricsSample } from './metrics.ts';

/**
 * Samples a runtime node for the gauges of {@link createMetrics}: live actors and their mailboxes
 * by kind. `kindOf` names the kind; by default a gen_statem actor is named after its machine id
 * (`Billing`, `orchestrator`) and anything else by its process kind (`supervisor`).
 *
 * @example
 * const metrics = createMetrics({ sample: () => sampleNode(node) });
 */
export function sampleNode(
  node: Node,
  kindOf: (process: Process) => string = defaultKind,
): Required<Pick<MetricsSample, 'actorsAlive' | 'mailboxes'>> {
  const actorsAlive: Record<string, number> = {};
  const mailboxes: Record<string, { messages: number; maxLength: number }> = {};
  for (const process of node.processes()) {
    if (!process.alive) continue;
    const kind = kindOf(process);
    actorsAlive[kind] = (actorsAlive[kind] ?? 0) + 1;
    const mailbox = (mailboxes[kind] ??= { messages: 0, maxLength: 0 });
    mailbox.messages += process.mailbox.length;
    mailbox.maxLength = Math.max(mailbox.maxLength, process.mailbox.length);
  }
  return { actorsAlive, mailboxes };
}

function defaultKind(process: Process): string {
  const machine = (process as { machine?: { id?: unknown } }).machine;
  return typeof machine?.id === 'string' && machine.id !== '' ? machine.id : process.kind;
}

/** What {@link trackNode} samples at each scrape, besides the node itself. */
export type QueueSampler = () => Promise<Pick<MetricsSample, 'queueDepths' | 'deadLetters' | 'partitionsOwned' | 'totals'>>;

/** A node followed for metrics: the scrape-time sample, and a way to stop following it. */
export interface NodeTracker {
  sample(): Promise<MetricsSample>;
  stop(): void;
}

/**
 * Follows a node for {@link createMetrics}' `sample`: everything {@link sampleNode} reads, plus the
 * running totals of messages in and out by kind and restarts by supervisor. Processes count their
 * own messages; what a process counted is added to its kind's total as it exits, so the totals
 * only grow although actors come and go (passivation). Queue depths and dead letters come from
 * `queues` (the transport's), when given; a failure there leaves those gauges out of the scrape
 * rather than failing it.
 *
 * @example
 * const tracker = trackNode(node);
 * const metrics = createMetrics({ sample: () => tracker.sample() });
 */
export function trackNode(node: Node, options: { kindOf?: (process: Process) => string; queues?: QueueSampler } = {}): NodeTracker {
  const kindOf = options.kindOf ?? defaultKind;
  const exitedIn: Record<string, number> = {};
  const exitedOut: Record<string, number> = {};
  const exitedRestarts: Record<string, number> = {};
  const unsubscribe = node.onExit((_pid, _reason, process) => {
    const kind = kindOf(process);
    exitedIn[kind] = (exitedIn[kind] ?? 0) + process.messagesIn;
    exitedOut[kind] = (exitedOut[kind] ?? 0) + process.messagesOut;
    if (process instanceof SupervisorProcess && process.restartsTotal > 0) {
      const name = supervisorName(process);
      exitedRestarts[name] = (exitedRestarts[name] ?? 0) + process.restartsTotal;
    }
  });
  return {
    async sample() {
      const messagesIn = { ...exitedIn };
      const messagesOut = { ...exitedOut };
      const supervisorRestarts = { ...exitedRestarts };
      for (const process of node.processes()) {
        const kind = kindOf(process);
        messagesIn[kind] = (messagesIn[kind] ?? 0) + process.messagesIn;
        messagesOut[kind] = (messagesOut[kind] ?? 0) + process.messagesOut;
        if (process instanceof SupervisorProcess) {
          const name = supervisorName(process);
          supervisorRestarts[name] = (supervisorRestarts[name] ?? 0) + process.restartsTotal;
        }
      }
      const { totals, ...queues }: Awaited<ReturnType<QueueSampler>> = options.queues ? await options.queues().catch(() => ({})) : {};
      return { ...sampleNode(node, kindOf), ...queues, totals: { ...totals, messagesIn, messagesOut, supervisorRestarts } };
    },
    stop: unsubscribe,
  };
}

/** A supervisor by its registered name (`entities:Billing`); an anonymous one by `supervisor`. */
function supervisorName(process: Process): string {
  return process.name ?? 'supervisor';
}
