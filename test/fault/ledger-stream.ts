/**
 * The fault tests' workload: numbered `apply` messages for many keys, interleaved, sent in
 * batches (retried while Redis is away: ids make a retry idempotent), and the check that every
 * key's ledger in Redis saw each of its messages exactly once, in order.
 */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.ts';
import { GovernorProducer, type OutboundMessage } from '../../src/transport/bullmq/index.ts';

export interface LedgerState {
  count: number;
  last: number;
  anomalies: string[];
}

/** `perKey` messages for each of `keys` keys, round-robin: seq 0 of every key, then seq 1, … */
export function ledgerStream(keys: number, perKey: number, prefix = 'key'): OutboundMessage[] {
  const messages: OutboundMessage[] = [];
  for (let seq = 0; seq < perKey; seq++) {
    for (let k = 0; k < keys; k++) {
      messages.push({ to: { entity: 'Ledger', key: `${prefix}-${k}` }, event: { type: 'apply', seq }, id: `${prefix}-${k}-${seq}` });
    }
  }
  return messages;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends in batches; `onProgress(sent)` after each, so a test can strike mid-stream. A failed batch is sent again. */
export async function sendStream(
  producer: GovernorProducer,
  messages: readonly OutboundMessage[],
  options: { batch?: number; pauseMs?: number; onProgress?: (sent: number) => Promise<void> | void } = {},
): Promise<void> {
  const batch = options.batch ?? 40;
  for (let start = 0; start < messages.length; start += batch) {
    const chunk = messages.slice(start, start + batch);
    for (;;) {
      try {
        await producer.sendMany(chunk);
        break;
      } catch {
        await sleep(100); // Redis away: the same ids again, so nothing is enqueued twice
      }
    }
    await options.onProgress?.(start + chunk.length);
    if (options.pauseMs) await sleep(options.pauseMs);
  }
}

/** Where the ledgers are: the nodes' prefix, with their partition count unless it is the default 16. */
export type LedgerPlace = string | { readonly prefix: string; readonly partitions: number };

/** The committed ledgers of keys `0..keys-1`, read from Redis (missing ones are `undefined`). */
export async function readLedgers(client: Redis, at: LedgerPlace, keys: number, keyPrefix = 'key'): Promise<(LedgerState | undefined)[]> {
  // The nodes' partition count too: an entity's keys are in its partition's hash slot.
  const store = new RedisStore(client, typeof at === 'string' ? { prefix: at } : at);
  const stored = await store.loadMany(Array.from({ length: keys }, (_, k) => ({ entity: 'Ledger', key: `${keyPrefix}-${k}` })));
  return stored.map((s) => (s?.state.snapshot as { context: LedgerState } | undefined)?.context);
}

/** Waits until every key has applied `perKey` messages (or the time is up), then checks each applied exactly once, in order. */
export async function expectExactlyOnceInOrder(
  client: Redis,
  prefix: LedgerPlace,
  keys: number,
  perKey: number,
  timeoutMs: number,
  diagnostics: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ledgers = await readLedgers(client, prefix, keys);
  while (ledgers.some((l) => (l?.count ?? 0) < perKey) && Date.now() < deadline) {
    await sleep(100);
    ledgers = await readLedgers(client, prefix, keys);
  }
  const wrong = ledgers
    .map((ledger, k) => ({ key: k, ledger }))
    .filter(({ ledger }) => ledger === undefined || ledger.count !== perKey || ledger.last !== perKey - 1 || ledger.anomalies.length > 0);
  if (wrong.length > 0) {
    expect.fail(`ledgers not applied exactly once in order:\n${JSON.stringify(wrong.slice(0, 10), null, 1)}\n--- node logs ---\n${diagnostics()}`);
  }
}
