import type { Message } from '../src/runtime/envelope.ts';
import type { EntityAddress } from '../src/runtime/entity.ts';
import { keyReusedReason } from '../src/marketplace/event-digest.ts';
import { LIFECYCLE_MESSAGE_TYPE, type LifecycleMessage } from '../src/marketplace/lifecycle-message.ts';
import { handledRecordOf, reusesKey, type PersonalSalt } from './handled-events.ts';

/**
 * The Orchestrator kind's state check (`EntityKind.checkState`): a lifecycle event whose eventId
 * the orchestrator handled before with other content (another `eventDigest`) is refused, with the
 * reason `IDEMPOTENCY_KEY_REUSED: …`, before it reaches the orchestrator: a node dead-letters it.
 * Runs after the kind's `accepts`, so the message is a valid `lifecycle` message; `record()` is
 * the event's handled record (`handled-events.ts`), read as the orchestrator would see it. An
 * unreadable record throws: a refusal with its reason, never a fresh decision. The orchestrator
 * answers such an event the same way itself (on a transport without this check).
 */
export function orchestratorStateRefusal(context: unknown, message: Message, _address: EntityAddress, record: () => unknown): string | undefined {
  if (!isLifecycleMessage(message)) return undefined;
  const { event } = message;
  const found = handledRecordOf({ type: LIFECYCLE_MESSAGE_TYPE, $record: record() });
  const salt = (context as { personalSalt?: PersonalSalt } | undefined)?.personalSalt;
  return reusesKey(found, event, salt) ? keyReusedReason(event.eventId, event.customerId) : undefined;
}

/**
 * Whether a message to the orchestrator is a `lifecycle` message: its type says so, and it carries
 * an event. Its fields were checked by the kind's `accepts` (`lifecycleMessageRefusal`) before a
 * state check runs, so the event is a validated one.
 */
function isLifecycleMessage(message: Message): message is Message & LifecycleMessage {
  return message.type === LIFECYCLE_MESSAGE_TYPE && typeof message.event === 'object' && message.event !== null;
}
