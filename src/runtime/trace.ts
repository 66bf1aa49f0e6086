import type { Address, CallerRef } from './envelope.ts';
import type { ExitReason } from './exit-reason.ts';
import type { Pid } from './pid.ts';

/** One line of a `sys:trace`: an event in, a message out, a transition, or the end. */
export type TraceEntry =
  | { readonly pid: Pid; readonly at: number; readonly kind: 'in'; readonly via: string; readonly event: unknown }
  | { readonly pid: Pid; readonly at: number; readonly kind: 'out'; readonly to: Address; readonly event: unknown }
  /** A reply going out to the caller of a `call` (`reply` / `replyTo`), as gen_statem's `{out, Reply, From}`. */
  | { readonly pid: Pid; readonly at: number; readonly kind: 'out'; readonly to: CallerRef; readonly reply: unknown }
  | {
      readonly pid: Pid;
      readonly at: number;
      readonly kind: 'transition';
      readonly from: unknown;
      readonly to: unknown;
      readonly event: unknown;
    }
  | { readonly pid: Pid; readonly at: number; readonly kind: 'postpone'; readonly event: unknown }
  /** An event no state took nor postponed, dropped by the actor's `unhandled: 'drop'` policy. */
  | { readonly pid: Pid; readonly at: number; readonly kind: 'drop'; readonly event: unknown }
  | { readonly pid: Pid; readonly at: number; readonly kind: 'exit'; readonly reason: ExitReason };
