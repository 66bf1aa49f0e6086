import type { Message } from '../src/runtime/envelope.ts';
import { eventDigest, keyReusedReason } from '../src/marketplace/event-digest.ts';
import { LIFECYCLE_MESSAGE_TYPE, type LifecycleMessage } from '../src/marketplace/lifecycle-message.ts';
import { reusedKeyRecord, type HandledEvent } from './handled-events.ts';

/**
 * The Orchestrator kind's state check (`EntityKind.checkState`): a lifecycle event whose eventId
 * the orchestrator handled before with other content (another `eventDigest`) is refused, with the
 * reason `IDEMPOTENCY_KEY_REUSED: …`, before it reaches the orchestrator: a node dead-letters it.
 * Runs after the kind's `accepts`, so the message is a valid `lifecycle` message. The
 * orchestrator answers such an event the same way itself (on a transport without this check).
 */
export function orchestratorStateRefusal(context: unknown, message: Message): string | undefined {
  if (message.type !== LIFECYCLE_MESSAGE_TYPE) return undefined;
  const handled = (context as { handled?: unknown } | undefined)?.handled;
  if (!Array.isArray(handled)) return undefined;
  const { event } = message as unknown as LifecycleMessage;
  return reusedKeyRecord(handled as HandledEvent[], event.eventId, () => eventDigest(event)) === undefined ? undefined : keyReusedReason(event.eventId, event.customerId);
}
