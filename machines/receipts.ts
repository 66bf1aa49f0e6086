import { emit, enqueueActions, setup } from 'xstate';
import { reply } from '../src/runtime/statem-actions.ts';
import type { CallerRef } from '../src/runtime/envelope.ts';
import { BoundedMemo } from '../src/runtime/bounded-memo.ts';
import { verifyReceiptChain, type ReceiptChainVerification } from '../src/marketplace/receipt-verification.ts';
import { GENESIS_TIP, appendReceipt, eventDigest, pseudonymiseCustomer, tipOf, type ChainTip, type Receipt } from '../src/marketplace/receipts.ts';
import { signChainHead } from '../src/marketplace/receipt-head.ts';
import type { SigningKey } from '../src/marketplace/signing-keys.ts';

/**
 * The per-customer Receipts entity: every committed event's receipt, in a SHA-256 hash chain
 * (`src/marketplace/receipts.ts`), and the answer to `verify`.
 *
 * Entries hold no personal data: the customer is a keyed pseudonym, the event a digest. A
 * receipt for an event id already in the chain is not added again (the orchestrator may append
 * twice for one event redelivered after its duplicate window; the event was committed once).
 *
 * The chain kept in the actor is bounded: past {@link RECEIPTS_KEPT}, the oldest receipts are
 * emitted as `receipts.archived` (for an archive to store) and the last one's tip becomes the
 * `anchor` the rest verifies from — the seeds dropped old entries and broke verification.
 */

/** @default 1000 receipts kept in the actor before the oldest are archived. */
export const RECEIPTS_KEPT = 1_000;

/** What the orchestrator sends for a committed event (see its `appendReceipt`). */
export interface AppendMessage {
  type: 'append';
  eventId: string;
  customerId: string;
  eventType: string;
  occurredAt: string;
  /**
   * The committed event in full: the receipt's `payloadDigest` covers all of it (amounts,
   * quantities, reasons), with the customer as its pseudonym. Absent in messages from before it
   * was sent (a restored orchestrator's): then the digest covers what the message has.
   */
  event?: Record<string, unknown>;
  /** When the orchestrator committed the event: epoch ms on the runtime clock (the receipt's `committedAt`). */
  committedAt: number;
  outcomes: Array<{ governor: string; status: string }>;
}

export type ReceiptsEvent =
  | AppendMessage
  | { type: 'verify'; $from?: CallerRef }
  | { type: 'receipts'; $from?: CallerRef }
  | { type: 'head'; at: number; $from?: CallerRef };

export interface ReceiptsContext {
  readonly customerId: string;
  /** The receipt before the first one kept (the genesis until receipts are archived). */
  readonly anchor: ChainTip;
  readonly tip: ChainTip;
  readonly receipts: readonly Receipt[];
  /** Appends that could not become receipts (a malformed entry), with the last reason. */
  readonly refused: number;
  readonly lastRefusal: string | null;
}

export interface ReceiptsOptions {
  /** Key of the customer pseudonyms, at least 16 bytes; destroy it to make receipts point to no one. */
  readonly pseudonymKey: string | Uint8Array;
  /** @default {@link RECEIPTS_KEPT} */
  readonly kept?: number;
  /** Signs chain heads (Ed25519), so a cut-off tail or a rewrite is detected too. */
  readonly signingKey?: SigningKey;
}

/** A customer's chain before its first receipt. */
export function emptyReceipts(customerId: string): ReceiptsContext {
  return { customerId, anchor: GENESIS_TIP, tip: GENESIS_TIP, receipts: [], refused: 0, lastRefusal: null };
}

/** The chain's id in signed heads: the customer's pseudonym, never the raw id. */
export function chainIdOf(context: Pick<ReceiptsContext, 'customerId'>, options: Pick<ReceiptsOptions, 'pseudonymKey'>): string {
  return pseudonymOf(context.customerId, options);
}

/**
 * Pseudonyms by options (so by key), then by customer: an HMAC per append was 0.7% of a busy
 * node's CPU, for the same few customers again and again. The memo lives as long as the options
 * that hold the key, so it keeps nothing the key could not recompute.
 */
const pseudonyms = new WeakMap<object, BoundedMemo<string>>();

function pseudonymOf(customerId: string, options: Pick<ReceiptsOptions, 'pseudonymKey'>): string {
  let memo = pseudonyms.get(options);
  if (!memo) pseudonyms.set(options, (memo = new BoundedMemo((id) => pseudonymiseCustomer(id, options.pseudonymKey))));
  return memo.get(customerId);
}

/** The receipts of a context, with their verification against its anchor. */
export function verifyReceipts(context: Pick<ReceiptsContext, 'receipts' | 'anchor'>): ReceiptChainVerification {
  return verifyReceiptChain(context.receipts, { anchor: context.anchor });
}

/** The context after an append: pure, shared with tests' reference models. */
export function appendTo(context: ReceiptsContext, message: AppendMessage, options: ReceiptsOptions): { context: ReceiptsContext; archived: Receipt[] } {
  if (context.receipts.some((r) => r.entry.eventId === message.eventId)) return { context, archived: [] };
  let receipt: Receipt;
  try {
    const customerRef = pseudonymOf(message.customerId, options);
    receipt = appendReceipt(context.tip, {
      eventId: message.eventId,
      customerRef,
      type: message.eventType,
      outcomes: message.outcomes.map((o) => ({ governor: o.governor as never, outcome: o.status as never })),
      payloadDigest: eventDigest(
        message.event
          ? { ...message.event, customerId: customerRef }
          : { eventId: message.eventId, customerRef, type: message.eventType, occurredAt: message.occurredAt },
      ),
      committedAt: message.committedAt,
    });
  } catch (error) {
    return { context: { ...context, refused: context.refused + 1, lastRefusal: error instanceof Error ? error.message : String(error) }, archived: [] };
  }
  const all = [...context.receipts, receipt];
  const kept = options.kept ?? RECEIPTS_KEPT;
  const archived = all.length > kept ? all.slice(0, all.length - kept) : [];
  const receipts = archived.length > 0 ? all.slice(archived.length) : all;
  const anchor = archived.length > 0 ? tipOf(archived.at(-1)!) : context.anchor;
  return { context: { ...context, receipts, anchor, tip: tipOf(receipt) }, archived };
}

/**
 * The Receipts machine: one state, `Recording`. Calls: `verify` → {@link ReceiptChainVerification}
 * with the anchor; `receipts` → the kept receipts and their anchor; `head` (with the time `at`,
 * epoch ms: the machine has no clock) → the chain's head signed with `signingKey`, to publish.
 *
 * @example
 * const kinds = [{ kind: 'Receipts', machine: createReceiptsMachine({ pseudonymKey }) }];
 */
export function createReceiptsMachine(options: ReceiptsOptions) {
  return setup({
    types: {} as { context: ReceiptsContext; events: ReceiptsEvent; input: { key: string } },
  }).createMachine({
    id: 'Receipts',
    initial: 'Recording',
    // Postpones nothing: Recording takes every message it knows, anything else is a crash.
    meta: { postpone: [] },
    context: ({ input }) => emptyReceipts(input.key),
    states: {
      Recording: {
        on: {
          append: {
            actions: enqueueActions(({ context, event, enqueue }) => {
              if (event.type !== 'append') return;
              const { context: next, archived } = appendTo(context, event, options);
              if (next !== context) enqueue.assign(next);
              if (archived.length > 0) enqueue(emit({ type: 'receipts.archived', receipts: archived } as { type: string }));
            }),
          },
          verify: { actions: reply(({ context }) => ({ ...verifyReceipts(context), anchor: context.anchor, refused: context.refused })) },
          receipts: { actions: reply(({ context }) => ({ anchor: context.anchor, receipts: context.receipts })) },
          head: {
            actions: reply(({ context, event }) => {
              if (!options.signingKey) return { error: 'no signing key: configure one to sign chain heads' };
              if (context.tip.seq < 0) return { error: 'the chain is empty: nothing to sign' };
              const at = event.type === 'head' && Number.isSafeInteger(event.at) && event.at >= 0 ? event.at : 0;
              return signChainHead({ chainId: chainIdOf(context, options), tip: context.tip, signedAt: at }, options.signingKey);
            }),
          },
        },
      },
    },
  });
}
