import { gt as semverGt, valid as validSemver } from 'semver';
import { canonicalDigest } from '../../src/marketplace/canonical-json.ts';
import { CURRENCY_PATTERN, Dec, formatCents, parseAmount } from '../../src/marketplace/money.ts';
import { assign, setup } from 'xstate';
import type { LifecycleEvent, ReplyStatus } from '../governor-protocol.ts';
import { defineGovernor, eventTime } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent } from './domain-machine.ts';
import { DAY_MS } from './plan.ts';

/**
 * The ProductCatalog governor: the catalog of one publisher (keyed by its customer id) — its SKUs
 * and workflow templates, their versions, deprecations and scheduled prices — and the look-ups
 * others make against it.
 *
 *   Empty ⇄ Listed (at least one item not fully deprecated)
 *
 * The seeds kept one FSM per SKU (Draft, Published, Featured, Deprecated, Archived, Validation,
 * UpdateApproved); here an item's lifecycle is data, checked synchronously: a publish that fails
 * validation is refused with the reason and never leaves anything stuck half-validated (a seed
 * defect). Rules kept: versions are semver and strictly increasing (a duplicate is refused); a
 * price rise over 10 % needs 30 days' notice; prices take effect in the future, never the past;
 * prices are 0.01 to 9,999,999.99. The revision is the SHA-256 of the item's canonical encoding,
 * stable across runs (the seeds' was not, and was never checked), and Featured is not a state an
 * update can drop (a seed defect): featuring is the storefront's, not the catalog's.
 *
 * TODO(src/marketplace catalog): search, ratings, download limits and dependency resolution are
 * the catalog module's pure functions; this governor should delegate item validation to it.
 */
export const CATALOG_STATES = ['Empty', 'Listed'] as const;
export type CatalogState = (typeof CATALOG_STATES)[number];

export interface PriceEntry {
  readonly amount: string;
  readonly currency: string;
  /** Epoch ms. */
  readonly effectiveAt: number;
}

export interface CatalogItem {
  readonly kind: 'sku' | 'template';
  /** Published versions, ascending. */
  readonly versions: readonly string[];
  readonly deprecated: readonly string[];
  /** Every version deprecated: the item is no longer listed. */
  readonly retired: boolean;
  /** Prices by effective time, ascending. */
  readonly prices: readonly PriceEntry[];
  readonly revision: string;
}

export interface CatalogData {
  readonly items: Readonly<Record<string, CatalogItem>>;
}

type D = CatalogData;

export const PRICE_RISE_NOTICE_DAYS = 30;
/** A rise above this fraction needs notice. */
export const PRICE_RISE_THRESHOLD = '0.10';
export const MAX_PRICE = '9999999.99';

/** What a catalog event comes to: the item it writes, or a refusal with its reason. */
type Verdict = { readonly id: string; readonly item: CatalogItem } | { readonly status: Exclude<ReplyStatus, 'applied'>; readonly reason: string };

const rejected = (reason: string): Verdict => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Verdict => ({ status: 'not_applicable', reason });

/** The item with its revision recomputed from everything else in it. */
function revised(item: Omit<CatalogItem, 'revision'>): CatalogItem {
  const { kind, versions, deprecated, retired, prices } = item;
  return { kind, versions, deprecated, retired, prices, revision: canonicalDigest({ kind, versions, deprecated, retired, prices }) };
}

const withItem = (id: string, item: CatalogItem): Verdict => ({ id, item });

/** The price of an item in effect at `at`, if any. */
export function priceAt(item: Pick<CatalogItem, 'prices'>, at: number): PriceEntry | undefined {
  let current: PriceEntry | undefined;
  for (const price of item.prices) if (price.effectiveAt <= at) current = price;
  return current;
}

function itemOf(data: D, event: LifecycleEvent): CatalogItem | string {
  const id = event.itemId;
  if (typeof id !== 'string' || !Object.hasOwn(data.items, id)) return `no item ${JSON.stringify(id)} in this catalog`;
  const item = data.items[id]!;
  if (item.kind !== event.itemKind) return `${id} is a ${item.kind}, not a ${String(event.itemKind)}`;
  return item;
}

function publish(data: D, event: LifecycleEvent): Verdict {
  const { itemKind, itemId, version } = event;
  if (itemKind !== 'sku' && itemKind !== 'template') return rejected('itemKind must be sku or template');
  if (typeof itemId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(itemId)) return rejected('itemId must be letters, digits, ".", "_", ":" or "-"');
  if (typeof version !== 'string' || validSemver(version) === null) return rejected(`version ${JSON.stringify(version)} is not semver (e.g. 1.4.0)`);
  const existing = Object.hasOwn(data.items, itemId) ? data.items[itemId]! : undefined;
  if (!existing) return withItem(itemId, revised({ kind: itemKind, versions: [version], deprecated: [], retired: false, prices: [] }));
  if (existing.kind !== itemKind) return rejected(`${itemId} is a ${existing.kind}, not a ${itemKind}`);
  if (existing.versions.includes(version)) return rejected(`version ${version} of ${itemId} is published already: versions are immutable`);
  const latest = existing.versions.at(-1)!;
  if (!semverGt(version, latest)) return rejected(`version ${version} of ${itemId} must be above the latest, ${latest}`);
  return withItem(itemId, revised({ ...existing, versions: [...existing.versions, version], retired: false }));
}

function deprecate(data: D, event: LifecycleEvent): Verdict {
  const item = itemOf(data, event);
  if (typeof item === 'string') return rejected(item);
  const id = event.itemId as string;
  if (event.version !== undefined) {
    const version = event.version;
    if (typeof version !== 'string' || !item.versions.includes(version)) return rejected(`version ${JSON.stringify(version)} of ${id} is not published`);
    if (item.deprecated.includes(version)) return notApplicable(`version ${version} of ${id} is deprecated already`);
    const deprecated = [...item.deprecated, version];
    return withItem(id, revised({ ...item, deprecated, retired: deprecated.length === item.versions.length }));
  }
  if (item.retired) return notApplicable(`${id} is deprecated already`);
  return withItem(id, revised({ ...item, deprecated: [...item.versions], retired: true }));
}

function reprice(data: D, event: LifecycleEvent): Verdict {
  const item = itemOf(data, event);
  if (typeof item === 'string') return rejected(item);
  const id = event.itemId as string;
  if (item.retired) return rejected(`${id} is deprecated: a deprecated item is not repriced`);
  let amount;
  try {
    amount = parseAmount(event.price, 'price');
  } catch (error) {
    return rejected((error as Error).message);
  }
  if (amount.lt('0.01') || amount.gt(MAX_PRICE)) return rejected(`price must be between 0.01 and ${MAX_PRICE}`);
  if (typeof event.currency !== 'string' || !CURRENCY_PATTERN.test(event.currency)) return rejected('currency must be three upper-case letters');
  const effectiveAt = typeof event.effectiveAt === 'string' ? Date.parse(event.effectiveAt) : Number.NaN;
  if (Number.isNaN(effectiveAt)) return rejected('effectiveAt must be an ISO 8601 time');
  const at = eventTime(event);
  if (effectiveAt <= at) return rejected('a new price takes effect in the future, never now or in the past');
  const current = priceAt(item, effectiveAt);
  if (current && current.currency !== event.currency) return rejected(`${id} is priced in ${current.currency}, not ${event.currency}`);
  if (current) {
    const ceiling = new Dec(current.amount).times(new Dec(1).plus(PRICE_RISE_THRESHOLD));
    const notice = at + PRICE_RISE_NOTICE_DAYS * DAY_MS;
    if (amount.gt(ceiling) && effectiveAt < notice) {
      return rejected(`a rise from ${current.amount} to ${formatCents(amount)} is over 10 %: it needs 30 days' notice (effective on or after ${new Date(notice).toISOString()})`);
    }
  }
  const entry: PriceEntry = { amount: formatCents(amount), currency: event.currency, effectiveAt };
  const prices = [...item.prices.filter((p) => p.effectiveAt !== effectiveAt), entry].sort((a, b) => a.effectiveAt - b.effectiveAt);
  return withItem(id, revised({ ...item, prices }));
}

type CatalogEvent = DomainEvent<'CatalogPublish'> | DomainEvent<'CatalogDeprecate'> | DomainEvent<'CatalogReprice'>;

/** What `event` comes to on `data`: each event type's checks, in the order the reasons are given. */
function verdictOf(data: D, event: CatalogEvent): Verdict {
  if (event.type === 'CatalogPublish') return publish(data, event);
  if (event.type === 'CatalogDeprecate') return deprecate(data, event);
  return reprice(data, event);
}

const itemsWith = (data: D, verdict: Verdict): D['items'] => ('item' in verdict ? { ...data.items, [verdict.id]: verdict.item } : data.items);

/**
 * The catalog, written out: every event is checked (a refusal names its reason), then writes its
 * item; the catalog is Listed while an item has a live version.
 */
export const productCatalogDomain = setup({
  types: {} as { context: DomainContext<D>; events: CatalogEvent },
  guards: {
    refused: ({ context, event }) => !('item' in verdictOf(context.data, event)),
    /** The write leaves every item fully deprecated. */
    nothingListed: ({ context, event }) => Object.values(itemsWith(context.data, verdictOf(context.data, event))).every((item) => item.retired),
  },
  actions: {
    refuse: assign(({ context, event }) => {
      const verdict = verdictOf(context.data, event);
      return { outcome: 'item' in verdict ? outcome.rejected('nothing to refuse (a governor bug)') : verdict };
    }),
    /** The item written, its revision in the reply's facts. */
    write: assign(({ context, event }) => {
      const verdict = verdictOf(context.data, event);
      if (!('item' in verdict)) return { outcome: verdict };
      return { data: { items: itemsWith(context.data, verdict) }, outcome: { status: 'applied', facts: { revision: verdict.item.revision } } as const };
    }),
  },
}).createMachine({
  id: 'ProductCatalog',
  initial: 'Empty',
  context: domainContext<D>({ items: {} }),
  states: {
    // Every item is fully deprecated (or there is none): only a publish lists one, and nothing
    // retired can be deprecated or repriced.
    Empty: {
      on: {
        CatalogPublish: [{ guard: 'refused', actions: 'refuse' }, { target: 'Listed', actions: 'write' }],
        CatalogDeprecate: { guard: 'refused', actions: 'refuse' },
        CatalogReprice: { guard: 'refused', actions: 'refuse' },
      },
    },
    Listed: {
      on: {
        CatalogPublish: [{ guard: 'refused', actions: 'refuse' }, { actions: 'write' }],
        CatalogDeprecate: [{ guard: 'refused', actions: 'refuse' }, { guard: 'nothingListed', target: 'Empty', actions: 'write' }, { actions: 'write' }],
        CatalogReprice: [{ guard: 'refused', actions: 'refuse' }, { actions: 'write' }],
      },
    },
  },
});

export const productCatalogGovernor = governorFromMachine<CatalogState, D>(productCatalogDomain, {
  kind: 'ProductCatalog',
  init: () => ({ items: {} }),
  facts: (state) => ({ catalog: state }),
  queries: {
    /** An item as others see it at `at` (epoch ms; default: its latest price): version, status, price. */
    lookup: ({ data }, event) => {
      const id = event.itemId;
      if (typeof id !== 'string' || !Object.hasOwn(data.items, id)) return { found: false };
      const item = data.items[id]!;
      const at = typeof event.at === 'number' ? event.at : Number.MAX_SAFE_INTEGER;
      const live = item.versions.filter((v) => !item.deprecated.includes(v));
      return { found: true, kind: item.kind, latest: live.at(-1) ?? null, versions: item.versions, retired: item.retired, price: priceAt(item, at) ?? null, revision: item.revision };
    },
  },
});

/** The pure decision of the ProductCatalog governor: its machine, taken one event. */
export const decideCatalog = (state: CatalogState, data: D, event: LifecycleEvent) => productCatalogGovernor.decide(state, data, event, event.customerId);

export const productCatalogMachine = defineGovernor(productCatalogGovernor);
