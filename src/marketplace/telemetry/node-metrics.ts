import type { Node } from '../../runtime/node.ts';
import type { Process } from '../../runtime/process.ts';
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
