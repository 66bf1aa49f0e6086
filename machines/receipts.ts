import { enqueueActions, setup } from 'xstate';
import { appendJournal, reply } from '../src/runtime/statem-actions.ts';
import type { CallerRef } from '../src/runtime/envelope.ts';
import type { PersistedActorState } from '../src/runtime/persisted-state.ts';
import { BoundedMemo } from '../src/runtime/bounded-memo.ts';
import { EMPTY_FRONTIER, frontierRoot, isMerkleFrontier, type MerkleFrontier } from '../src/marketplace/merkle.ts';
import { appendReceiptLeaf, frontierOfReceipts, verifyAgainstHead, type ReceiptLogVerification } from '../src/marketplace/receipt-log.ts';
import { verifyReceiptChain } from '../src/marketplace/receipt-verification.ts';
import { signTreeHead } from '../src/marketplace/receipt-tree-head.ts';
import { GENESIS_TIP, appendReceipt, eventDigest, pseudonymiseCustomer, tipOf, type ChainTip, type GovernorOutcomeKind, type Receipt } from '../src/marketplace/receipts.ts';
import type { GovernorKind } from './governor-protocol.ts';
import type { SigningKey } from '../src/marketplace/signing-keys.ts';
import { newPersonalSalt, withCommittedContact } from '../src/marketplace/personal-data.ts';

/**
 * The per-customer Receipts entity: every committed event's receipt, in a SHA-256 hash chain
 * (`src/marketplace/receipts.ts`) and in an RFC 9162 Merkle tree (`receipt-log.ts`) whose signed
 * head commits to the whole log from genesis.
 *
 * The receipts themselves are history, not state: each goes to the entity's journal
 * (`appendJournal`), which the store appends in the same atomic commit as this state. The state
 * keeps O(log n): the tip, the tree's frontier (its size and right-edge roots, enough to append
 * and to compute the root) and where the log starts. Nothing is dropped and nothing is archived:
 * there is no retention policy (a customer's log grows by one receipt per committed event).
 *
 * Entries hold no personal data: the customer is a keyed pseudonym, the event a digest. A
 * receipt for one of the last {@link RECENT_EVENT_IDS} event ids is not added again (the
 * orchestrator appends once per committed event; this catches an immediate double append, while
 * recognising an event redelivered long after is the orchestrator's idempotency records' job).
 *
 * Growth with the customer's age (issue 15): the tip, `firstSeq` and the id window are O(1); the
 * frontier is O(log n), one 64-hex-digit hash per set bit of the log's size (at most 14 below
 * 16,384 receipts, about 70 bytes each), the one part of the state allowed to grow.
 */

/**
 * Event ids remembered to refuse a double append. Small on purpose: the window is in every
 * snapshot the customer's commits write, and a redelivered `append` is already recognised by the
 * runtime's handled message ids; 8 covers an orchestrator re-sending its last few appends. (It was
 * 32: about 300 bytes more state from a customer's 32nd event on, 1 KB with UUID event ids.)
 */
export const RECENT_EVENT_IDS = 8;

/** The layout version of the context: 2 since the receipts moved to the journal (absent: the v1 layout). */
export const RECEIPTS_LAYOUT = 2;

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
  /** Each governor's reply, as the orchestrator got it (`appendReceipt` checks them again: a bad one is refused, not receipted). */
  outcomes: Array<{ governor: GovernorKind; status: GovernorOutcomeKind }>;
}

export type ReceiptsEvent =
  | AppendMessage
  | { type: 'verify'; $from?: CallerRef }
  | { type: 'head'; at: number; $from?: CallerRef };

export interface ReceiptsContext {
  readonly v: typeof RECEIPTS_LAYOUT;
  readonly customerId: string;
  /** The last receipt (the genesis tip before the first). */
  readonly tip: ChainTip;
  /** The Merkle tree of the log: its size and right-edge subtree roots. */
  readonly log: MerkleFrontier;
  /**
   * Sequence number of the log's first receipt: 0, unless this log was migrated from a v1 chain
   * whose oldest receipts had already been archived (and lost): then it starts where it could.
   */
  readonly firstSeq: number;
  /** The last {@link RECENT_EVENT_IDS} event ids with a receipt. */
  readonly recent: readonly string[];
  /** Appends that could not become receipts (a malformed entry), with the last reason. */
  readonly refused: number;
  readonly lastRefusal: string | null;
  /**
   * The customer's personal-data salt (32 random bytes, hex): receipts commit to a contact only
   * as an HMAC under it ({@link withCommittedContact}). Made at the first event with a contact,
   * destroyed by the receipt of a `CustomerErasureRequested`, after which no commitment can be
   * tested against a guessed email. `null` (or absent, in states saved before it existed): none.
   */
  readonly personalSalt?: string | null;
}

/** What `verify` answers: the log as this actor has it (the receipts are in the journal). */
export interface ReceiptsSummary {
  readonly treeSize: number;
  readonly rootHash: string;
  readonly firstSeq: number;
  readonly tip: ChainTip;
  /** The log starts at genesis. */
  readonly complete: boolean;
  readonly refused: number;
}

export interface ReceiptsOptions {
  /** Key of the customer pseudonyms, at least 16 bytes; destroy it to make receipts point to no one. */
  readonly pseudonymKey: string | Uint8Array;
  /** Signs tree heads (Ed25519), so the whole log is checked with the public key alone. */
  readonly signingKey?: SigningKey;
  /** Makes a customer's personal-data salt. @default {@link newPersonalSalt} (random; tests may fix it) */
  readonly newSalt?: () => string;
}

/** A customer's log before its first receipt. */
export function emptyReceipts(customerId: string): ReceiptsContext {
  return { v: RECEIPTS_LAYOUT, customerId, tip: GENESIS_TIP, log: EMPTY_FRONTIER, firstSeq: 0, recent: [], refused: 0, lastRefusal: null };
}

/** The log's id in signed heads: the customer's pseudonym, never the raw id. */
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

/** The summary `verify` answers with. */
export function summaryOf(context: ReceiptsContext): ReceiptsSummary {
  return { treeSize: context.log.size, rootHash: frontierRoot(context.log), firstSeq: context.firstSeq, tip: context.tip, complete: context.firstSeq === 0, refused: context.refused };
}

/**
 * The context after an append, and the receipt to journal (none for a double append or a refused
 * entry): pure, shared with tests' reference models.
 */
export function appendTo(context: ReceiptsContext, message: AppendMessage, options: ReceiptsOptions): { context: ReceiptsContext; receipt?: Receipt } {
  if (context.recent.includes(message.eventId)) return { context };
  let receipt: Receipt;
  // A contact is committed to under the customer's salt, made at the first one (see personal-data.ts).
  const hasContact = message.event !== undefined && 'contact' in message.event;
  const salt = hasContact ? (context.personalSalt ?? (options.newSalt ?? newPersonalSalt)()) : (context.personalSalt ?? null);
  try {
    const customerRef = pseudonymOf(message.customerId, options);
    receipt = appendReceipt(context.tip, {
      eventId: message.eventId,
      customerRef,
      type: message.eventType,
      outcomes: message.outcomes.map((o) => ({ governor: o.governor, outcome: o.status })),
      payloadDigest: eventDigest(
        message.event
          ? { ...withCommittedContact(message.event, salt), customerId: customerRef }
          : { eventId: message.eventId, customerRef, type: message.eventType, occurredAt: message.occurredAt },
      ),
      committedAt: message.committedAt,
    });
  } catch (error) {
    return { context: { ...context, refused: context.refused + 1, lastRefusal: error instanceof Error ? error.message : String(error) } };
  }
  const recent = [...context.recent, message.eventId].slice(-RECENT_EVENT_IDS);
  // The erasure's own receipt is the last use of the salt: destroying it is what erases the commitments.
  const personalSalt = message.eventType === 'CustomerErasureRequested' ? null : salt;
  const next = { ...context, tip: tipOf(receipt), log: appendReceiptLeaf(context.log, receipt), recent };
  return { context: personalSalt === (context.personalSalt ?? null) ? next : { ...next, personalSalt }, receipt };
}

/** Outcome of {@link verifyReceipts}: a log verification, with whether the stored layout is the old one. */
export type ReceiptsVerification = ReceiptLogVerification | (ReturnType<typeof verifyReceiptChain> & { readonly layout: 1 });

/**
 * Verifies a customer's receipts (read from the journal) against the log its committed context
 * describes: the Merkle root of the receipts must be the context's, from its first receipt on.
 * A context of the v1 layout (not migrated yet: it carries its receipts) is verified as a chain.
 */
export function verifyReceipts(context: unknown, journal: readonly unknown[] = []): ReceiptsVerification {
  const c = context as Partial<ReceiptsContext> & { receipts?: unknown; anchor?: ChainTip };
  if (c.v !== RECEIPTS_LAYOUT) return { ...verifyReceiptChain(c.receipts ?? [], c.anchor ? { anchor: c.anchor } : {}), layout: 1 };
  if (!isMerkleFrontier(c.log) || !Number.isSafeInteger(c.firstSeq)) return { ok: false, position: 0, kind: 'malformed', message: 'the stored Receipts state has no valid log (size, frontier, firstSeq)' };
  return verifyAgainstHead(journal, { treeSize: c.log.size, rootHash: frontierRoot(c.log), firstSeq: c.firstSeq! });
}

/**
 * Brings a Receipts state of the v1 layout (up to 1,000 receipts kept in the context, the rest
 * archived from an `anchor`) to the v2 layout: its receipts move to the journal, in order, and
 * the tree is built over them. None is lost. An anchor other than the genesis means older
 * receipts were archived by the v1 code, which stored them nowhere: the log then starts after the
 * anchor (`firstSeq`), its signed heads say so, and verification reports it as incomplete.
 * `undefined` for a state of the current layout.
 */
export function migrateReceiptsState(state: PersistedActorState): { state: PersistedActorState; journal: readonly Receipt[] } | undefined {
  const snapshot = state.snapshot as { context?: Record<string, unknown> } & Record<string, unknown>;
  const old = snapshot.context as { v?: unknown; customerId: string; anchor?: ChainTip; tip: ChainTip; receipts?: Receipt[]; refused?: number; lastRefusal?: string | null } | undefined;
  if (!old || old.v === RECEIPTS_LAYOUT || !Array.isArray(old.receipts)) return undefined;
  const receipts = old.receipts;
  const anchor = old.anchor ?? GENESIS_TIP;
  const context: ReceiptsContext = {
    v: RECEIPTS_LAYOUT,
    customerId: old.customerId,
    tip: old.tip,
    log: frontierOfReceipts(receipts),
    firstSeq: anchor.seq + 1,
    recent: receipts.slice(-RECENT_EVENT_IDS).map((r) => r.entry.eventId),
    refused: old.refused ?? 0,
    lastRefusal: old.lastRefusal ?? null,
  };
  return {
    state: { ...state, snapshot: { ...snapshot, context }, journalLength: (state.journalLength ?? 0) + receipts.length },
    journal: receipts,
  };
}

/**
 * The Receipts machine: one state, `Recording`. Calls: `verify` → {@link ReceiptsSummary} (the
 * log's size, root and start, to check the journal's receipts against); `head` (with the time
 * `at`, epoch ms: the machine has no clock) → a v2 signed tree head, to publish.
 *
 * @example
 * const kinds = [{ kind: 'Receipts', machine: createReceiptsMachine({ pseudonymKey }), migrate: migrateReceiptsState }];
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
              const { context: next, receipt } = appendTo(context, event, options);
              if (next !== context) enqueue.assign(next);
              if (receipt) enqueue(appendJournal([receipt]));
            }),
          },
          verify: { actions: reply(({ context }) => summaryOf(context)) },
          head: {
            actions: reply(({ context, event }) => {
              if (!options.signingKey) return { error: 'no signing key: configure one to sign tree heads' };
              if (context.log.size === 0) return { error: 'the log is empty: nothing to sign' };
              const at = event.type === 'head' && Number.isSafeInteger(event.at) && event.at >= 0 ? event.at : 0;
              return signTreeHead(
                { logId: chainIdOf(context, options), treeSize: context.log.size, rootHash: frontierRoot(context.log), firstSeq: context.firstSeq, signedAt: at },
                options.signingKey,
              );
            }),
          },
        },
      },
    },
  });
}
