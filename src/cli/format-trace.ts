import { formatReason } from '../runtime/exit-reason.ts';
import type { TraceEntry } from '../runtime/trace.ts';

const short = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
};

/** One trace entry as one line, for the REPL's `trace(ref, 'on')`. */
export function formatTrace(entry: TraceEntry): string {
  const head = `[trace ${entry.pid}]`;
  switch (entry.kind) {
    case 'in':
      return `${head} ← ${entry.via} ${short(entry.event)}`;
    case 'out':
      return 'reply' in entry
        ? `${head} → caller ${entry.to.ref}@${entry.to.node} reply ${short(entry.reply)}`
        : `${head} → ${short(entry.to)} ${short(entry.event)}`;
    case 'transition':
      return `${head} ${short(entry.from)} ⇒ ${short(entry.to)} on ${short((entry.event as { type?: string }).type)}`;
    case 'postpone':
      return `${head} postponed ${short(entry.event)}`;
    case 'drop':
      return `${head} dropped (unhandled) ${short(entry.event)}`;
    case 'exit':
      return `${head} exit ${formatReason(entry.reason)}`;
  }
}
