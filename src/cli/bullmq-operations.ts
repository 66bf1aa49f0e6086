import type { BullmqTransport } from '../transport/bullmq/bullmq-transport.ts';
import { checkReplEvent, DeadLetterNotFoundError, EventThrottledError, type AdminOperations } from './admin-operations.ts';
import type { ClusterReads } from './cluster-reads.ts';
import { enqueueEvents } from './enqueue/producer.ts';
import { eraseCustomer, exportCustomer, type CustomerTarget } from './customer/customer-operations.ts';

/**
 * The operations of a BullMQ node, run node-side: what `governor repl` asks for over the admin
 * list (enqueue and dlq_replay signed, so the token applies) and what `--shell` types. Writes go
 * through the code the commands use (`governor enqueue`'s producer, the transport's replay), reads
 * through {@link ClusterReads}, as the REPL reads them remotely. `now` is the node's runtime clock.
 */
export function bullmqOperations(transport: BullmqTransport, reads: ClusterReads, now: () => number = () => Date.now()): AdminOperations {
  const { url, prefix, partitions, placement } = transport.settings;
  /** A connection of its own per command (a GDPR request is rare; the node's connections stay its own). */
  const withTarget = async <T>(customerId: unknown, run: (target: CustomerTarget, id: string) => Promise<T>): Promise<T> => {
    if (typeof customerId !== 'string' || customerId === '') throw new TypeError("takes a customer id string, e.g. customer_export('c1')");
    const { createRedis } = await import('../transport/bullmq/connections.ts');
    const redis = createRedis(url, { ...transport.settings.redis, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined); // surfaced by the read that fails
    try {
      return await run({ redis, url, prefix, partitions, placement }, customerId);
    } finally {
      redis.disconnect();
    }
  };
  return {
    async enqueue(input) {
      // Validated here as well as in the REPL: the node is the boundary, whatever sent the request.
      // Against the node's clock, as the node checks it when the job arrives (a test clock included).
      const event = checkReplEvent(input, now());
      // Through the same door as governor enqueue, its tenant's rate limit included.
      const { ids, throttled } = await enqueueEvents({ url, prefix, partitions, placement, batch: 1 }, [event]);
      const refused = throttled[0];
      if (refused) throw new EventThrottledError(refused.event.customerId, refused.tier, refused.perSecond, refused.retryAfterMs);
      return ids[0];
    },
    async dlq_replay(id) {
      if (typeof id !== 'string' || id === '') throw new TypeError('dlq_replay(id) takes a dead letter id, as dlq() lists it');
      const result = await transport.replayDeadLetter(id);
      if (!result.ok) throw new DeadLetterNotFoundError(id);
      return { queue: result.queue, jobId: result.jobId };
    },
    queues: () => reads.queues(),
    dlq: () => reads.dlq(),
    audit_verify: (customerId) => reads.audit_verify(customerId),
    customer_export: (customerId) => withTarget(customerId, (target, id) => exportCustomer(target, id, { now })),
    customer_erase: (customerId) => withTarget(customerId, (target, id) => eraseCustomer(target, id, { requestedBy: 'governor-repl', now })),
  };
}
