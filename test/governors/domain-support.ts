import { expect } from 'vitest';
import { decideEvent, protocol, replyFor, type Decision, type GovernorContext, type GovernorDefinition } from '../../machines/governors/governor-kit.ts';
import type { GovernorReply, LifecycleEvent } from '../../machines/governor-protocol.ts';
import { CUSTOMER, T0, days } from './model-support.ts';

let serial = 0;

/** A lifecycle event `atDays` days after {@link T0}, with a fresh event id. */
export function ev(type: string, fields: Record<string, unknown> = {}, atDays = 0): LifecycleEvent {
  return { eventId: `e${++serial}`, customerId: CUSTOMER, occurredAt: new Date(T0 + days(atDays)).toISOString(), type, ...fields };
}

/** A step of a history: an event that must be applied, or the current state's timeout firing. */
export type Step = LifecycleEvent | 'timeout';

/** The keyed records a history wrote (`putRecord`: replies, usage keys, payments), by the context it led to. */
const written = new WeakMap<object, ReadonlyMap<string, unknown>>();

/** The records written by the history that led to `context` ({@link given}), as a decision reads them. */
export function recordsOf(context: object): ReadonlyMap<string, unknown> {
  return written.get(context) ?? new Map();
}

/** The context after a history, each event prepared and committed (and required to apply), its records kept as the runtime keeps them. */
export function given<S extends string, D>(definition: GovernorDefinition<S, D>, steps: readonly Step[]): GovernorContext<S, D> {
  const records = new Map<string, unknown>();
  let context = protocol.initial(definition, CUSTOMER);
  for (const step of steps) {
    if (step === 'timeout') {
      expect(definition.timeouts?.[context.state], `no timeout in ${context.state}`).toBeDefined();
      context = protocol.timeout(definition, context);
      continue;
    }
    const prepared = protocol.prepare(definition, context, step, undefined, (key) => records.get(key));
    expect(prepared.reply, `setting up with ${step.type} in ${context.state}`).toMatchObject({ status: 'applied' });
    for (const [key, value] of Object.entries(protocol.committedRecords(definition, prepared.context, step.eventId))) records.set(key, value);
    context = protocol.commit(definition, prepared.context, step.eventId);
  }
  written.set(context, records);
  return context;
}

/** What the governor makes of `event` in `context`, and the reply it would send. */
export function decide<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: GovernorContext<S, D>,
  event: LifecycleEvent,
): { decision: Decision<S, D>; reply: GovernorReply } {
  const decision = decideEvent(definition, context, event, (key) => recordsOf(context).get(key));
  return { decision, reply: replyFor(definition, context, decision) };
}

/** One row of a domain table: a history, an event, and what must come of it. */
export interface Row<S extends string, D> {
  readonly name: string;
  readonly history: readonly Step[];
  readonly event: LifecycleEvent;
  readonly status: GovernorReply['status'];
  readonly reason?: RegExp;
  readonly state?: S;
  /** `records`: what the history wrote and the decision would write with it. */
  readonly check?: (data: D, reply: GovernorReply, records: ReadonlyMap<string, unknown>) => void;
}

/** Runs one table row. */
export function checkRow<S extends string, D>(definition: GovernorDefinition<S, D>, row: Row<S, D>): void {
  const context = given(definition, row.history);
  const { decision, reply } = decide(definition, context, row.event);
  expect({ status: decision.status, reason: decision.reason }).toMatchObject({ status: row.status });
  if (row.reason) expect(decision.reason).toMatch(row.reason);
  if (row.state) expect(decision.next?.state ?? context.state).toBe(row.state);
  row.check?.(decision.next?.data ?? context.data, reply, new Map([...recordsOf(context), ...Object.entries(decision.records ?? {})]));
}
