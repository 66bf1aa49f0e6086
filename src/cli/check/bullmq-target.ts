import type { Redis } from 'ioredis';
import { createRedis } from '../../transport/bullmq/connections.ts';
import { scanKeys } from '../../transport/bullmq/redis-servers.ts';
import { pino } from 'pino';
import { SimulatedClock, systemClock } from '../../runtime/clock.ts';
import type { Pid } from '../../runtime/pid.ts';
import { RedisKeys } from '../../store/redis-keys.ts';
import { ready } from '../../transport/bullmq/connections.ts';
import { startBullmqNode } from '../../transport/bullmq/start-node.ts';
import { marketplaceKinds } from '../../../machines/index.ts';
import type { Outcome } from '../../../machines/orchestrator.ts';
import { TARGET_KINDS, type ActorState, type PropertyTarget } from './target.ts';

export interface BullmqTargetOptions {
  readonly url: string;
  /** This run's key prefix: every key under it is deleted when the run stops, and nothing else. */
  readonly prefix: string;
  readonly start: number;
  readonly pseudonymKey: string;
  /** Few partitions start and stop quickly; the customers still spread over them. @default 2 */
  readonly partitions?: number;
  /** Real time a submission may take before the run fails as stuck. @default 30 s */
  readonly stuckAfterMs?: number;
}

/** A customer's actors as committed in Redis, by kind (absent: the actor was never committed). */
export async function readCommittedStates(redis: Redis, keys: RedisKeys, customerId: string): Promise<Map<string, ActorState>> {
  // Separate commands, not one pipeline: the kinds' states may be in different slots (distributed placement, a cluster).
  const replies = await Promise.all([
    ...TARGET_KINDS.map((kind) => settle(redis.hget(keys.state({ entity: kind, key: customerId }), 'd'))),
    settle(redis.lrange(keys.journal({ entity: 'Receipts', key: customerId }), 0, -1)),
    settle(redis.hgetall(keys.records({ entity: 'Orchestrator', key: customerId }))),
    settle(redis.hgetall(keys.records({ entity: 'Billing', key: customerId }))),
  ]);
  const billingRecords = Object.fromEntries(Object.entries((replies[TARGET_KINDS.length + 2]?.[1] ?? {}) as Record<string, string>).map(([field, text]) => [field, JSON.parse(text) as unknown]));
  const records = (replies[TARGET_KINDS.length + 1]?.[1] ?? {}) as Record<string, string>;
  const handled = Object.fromEntries(Object.entries(records).map(([eventId, text]) => [eventId, JSON.parse(text) as unknown]));
  const journal = ((replies[TARGET_KINDS.length]?.[1] ?? []) as string[]).map((text) => JSON.parse(text) as unknown);
  const states = new Map<string, ActorState>();
  TARGET_KINDS.forEach((kind, i) => {
    const [error, stored] = replies[i] ?? [];
    if (error) throw error;
    if (typeof stored !== 'string') return;
    const snapshot = (JSON.parse(stored) as { snapshot: { value: unknown; context: unknown } }).snapshot;
    // Receipts are history in the journal: seen with the context that counts them.
    // Handled-event records live beside the orchestrator's state: seen with it, by eventId.
    const context =
      kind === 'Receipts'
        ? { ...(snapshot.context as object), receipts: journal }
        : kind === 'Orchestrator'
          ? { ...(snapshot.context as object), handled }
          : snapshot.context;
    // Applied payments and issued invoices are records beside Billing's state (`payment:<id>`, `invoice:<id>`).
    states.set(kind, { value: snapshot.value, context, ...(kind === 'Billing' ? { records: billingRecords } : {}) });
  });
  return states;
}

/** A Redis glob matching exactly the keys under `prefix`. */
function keysUnder(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
}

/**
 * The marketplace on a BullMQ node in this process, on a simulated clock: each lifecycle event is
 * a job in its customer's partition queue, handled by the node's partition worker and committed
 * by the commit script; states are read back from Redis. Submissions are calls from outside any
 * job (a fresh message id each), so a redelivered event reaches the orchestrator, which must
 * recognise it itself.
 */
export async function bullmqTarget(options: BullmqTargetOptions): Promise<PropertyTarget> {
  const clock = new SimulatedClock(options.start);
  const started = await startBullmqNode({
    url: options.url,
    prefix: options.prefix,
    partitions: options.partitions ?? 2,
    name: `check-${process.pid}`,
    kinds: marketplaceKinds({ pseudonymKey: options.pseudonymKey }),
    clock,
    // Throw-away keys, deleted when the run ends: nothing here needs to survive a Redis restart.
    durability: 'allow-data-loss',
    logger: pino({ level: process.env['GOVERNOR_CHECK_LOG'] ?? 'silent' }),
  });
  const { node, transport } = started;
  const keys = new RedisKeys(options.prefix, { partitions: options.partitions ?? 2 });
  const redis = createRedis(options.url, { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  try {
    await ready(redis);
  } catch (error) {
    redis.disconnect();
    await started.stop({ timeoutMs: 0 });
    throw error;
  }
  const stuckAfterMs = options.stuckAfterMs ?? 30_000;
  const pidOf = (kind: string, customerId: string) => node.whereis(`entity:${kind}/${customerId}`) as Pid | undefined;

  /** A call's answer, or a loud failure after `stuckAfterMs` of real time (the simulated clock never times it out). */
  const answered = <T>(work: Promise<T>, what: string): Promise<T> => {
    let handle: unknown;
    const stuck = new Promise<never>((_, reject) => {
      handle = systemClock.setTimeout(() => reject(new Error(`${what}: no answer within ${stuckAfterMs} ms of real time (is the node consuming its partitions?)`)), stuckAfterMs);
    });
    return Promise.race([work, stuck]).finally(() => systemClock.clearTimeout(handle));
  };

  return {
    transport: 'bullmq',
    clock,
    async submit(event) {
      const outcome = await answered(
        node.call<Outcome>({ entity: 'Orchestrator', key: event.customerId }, { type: 'lifecycle', event, receivedAt: clock.now() }, { timeout: 3_600_000 }),
        `event ${event.eventId}`,
      );
      // The reply leaves before the commit (a caller on the owning node): wait for the commit.
      await transport.settled();
      return outcome;
    },
    async advance(ms) {
      clock.advance(ms);
      await transport.settled();
    },
    async crash(kind, customerId) {
      const before = pidOf(kind, customerId);
      if (before === undefined) return { before, after: undefined };
      node.exit(before, 'boom');
      await transport.settled();
      return { before, after: pidOf(kind, customerId) };
    },
    states: (customerId) => readCommittedStates(redis, keys, customerId),
    async stop() {
      try {
        await started.stop({ timeoutMs: 2_000 });
      } finally {
        // This run's keys, and only those: the prefix is the run's own.
        // One UNLINK per key: on a cluster the run's keys are in several slots.
        const found = await scanKeys(redis, keysUnder(options.prefix), 1_000);
        await Promise.all(found.map((key) => redis.unlink(key)));
        await redis.quit().catch(() => redis.disconnect());
      }
    },
  };
}

/** A command's answer as a pipeline gives it: `[error, reply]`. */
async function settle(command: Promise<unknown>): Promise<[Error | null, unknown]> {
  try {
    return [null, await command];
  } catch (error) {
    return [error instanceof Error ? error : new Error(String(error)), null];
  }
}
