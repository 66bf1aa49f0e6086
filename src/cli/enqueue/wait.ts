import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import type { GovernorProducer } from '../../transport/bullmq/producer.ts';
import { ready } from '../../transport/bullmq/connections.ts';
import { FAIL_FAST_REDIS } from './redis.ts';

/** What became of an enqueued event by the end of `--wait`. */
export type EventOutcome =
  | { readonly status: 'handled' }
  | { readonly status: 'dead-lettered'; readonly reason: string }
  | { readonly status: 'pending' };

/**
 * Waits until a node has handled each event — its customer's orchestrator has committed it (the
 * eventId is in its recent events and is not the one in progress) — or dead-lettered it, or until
 * `timeoutMs`. The orchestrator keeps no per-event outcome, so "handled" covers completed,
 * rejected by a governor and duplicate alike.
 */
export async function waitForOutcomes(
  producer: GovernorProducer,
  events: readonly LifecycleEvent[],
  messageIdOf: (eventId: string) => string,
  options: { url: string; timeoutMs: number; pollMs?: number },
): Promise<Map<string, EventOutcome>> {
  const outcomes = new Map<string, EventOutcome>(events.map((e) => [e.eventId, { status: 'pending' }]));
  const redis = new Redis(producer.settings.url, { ...producer.settings.redis, ...FAIL_FAST_REDIS, enableOfflineQueue: false, maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const dlq = new Queue(producer.keys.deadLetterQueue, { connection: redis, prefix: producer.settings.prefix });
  dlq.on('error', () => undefined);
  try {
    await ready(redis);
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const pending = events.filter((e) => outcomes.get(e.eventId)!.status === 'pending');
      if (pending.length === 0) break;
      const states = await Promise.all(pending.map((e) => redis.hget(producer.keys.state({ entity: 'Orchestrator', key: e.customerId }), 'd')));
      await Promise.all(
        pending.map(async (event, i) => {
          if (handled(states[i] ?? null, event.eventId)) {
            outcomes.set(event.eventId, { status: 'handled' });
            return;
          }
          const queue = producer.queueOf({ entity: 'Orchestrator', key: event.customerId });
          const letter = await dlq.getJob(`${queue}~${messageIdOf(event.eventId)}`);
          if (letter) outcomes.set(event.eventId, { status: 'dead-lettered', reason: String((letter.data as { reason?: unknown }).reason) });
        }),
      );
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  } finally {
    await dlq.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  }
  return outcomes;
}

function handled(stored: string | null, eventId: string): boolean {
  if (stored === null) return false;
  try {
    const context = (JSON.parse(stored) as { snapshot?: { context?: { recent?: Record<string, number>; current?: { event?: { eventId?: string } } | null } } }).snapshot?.context;
    return context?.recent?.[eventId] !== undefined && context.current?.event?.eventId !== eventId;
  } catch {
    return false;
  }
}
