/**
 * The marketplace domain library: pure functions and plain data that the governor machines call.
 * No actors, no Redis, no clocks of its own: time and randomness are passed in.
 *
 * (The `deployment/` sub-folder has its own entry point; telemetry and metrics are in src/observability/.)
 *
 * @example
 * import { parseLifecycleEvent, governorsFor, priceUsage } from './marketplace/index.ts';
 */

// Errors
export { CanonicalEncodingError, InvalidAmountError, InvalidArgumentError, InvalidKeyMaterialError } from './errors.ts';

// Identifiers and canonical encoding
export { SAFE_ID_PATTERN, SAFE_ID_MAX_LENGTH, FORBIDDEN_KEYS, isSafeId } from './ids.ts';
export { canonicalJson, canonicalBytes, canonicalDigest, sha256Hex, CANONICAL_MAX_DEPTH } from './canonical-json.ts';

// Lifecycle events
export {
  LifecycleEventSchema,
  LIFECYCLE_EVENT_SCHEMAS,
  LIFECYCLE_EVENT_TYPES,
  MAX_EVENT_BYTES,
  MAX_EVENT_DEPTH,
  MAX_TEXT_LENGTH,
  EVENT_AMOUNT_PATTERN,
  SEMVER_PATTERN,
  SKU_ID_PATTERN,
} from './event-schema.ts';
export type { LifecycleEvent, LifecycleEventOf, LifecycleEventType } from './event-schema.ts';
export { parseLifecycleEvent, parseLifecycleEventJson } from './event-validation.ts';
export type { EventParseResult, EventValidationIssue, EventIssueRule } from './event-validation.ts';
export { lifecycleEventJsonSchema, lifecycleEventJsonSchemaText, LIFECYCLE_EVENT_SCHEMA_ID } from './event-json-schema.ts';
export { GOVERNORS, EVENT_ROUTES, governorsFor } from './event-routing.ts';
export {
  ORCHESTRATOR_KIND,
  LIFECYCLE_MESSAGE_TYPE,
  LifecycleMessageSchema,
  messageIdOf,
  isMessageIdOf,
  parseLifecycleMessage,
  lifecycleMessageRefusal,
} from './lifecycle-message.ts';
export type { LifecycleMessage, LifecycleMessageParseResult } from './lifecycle-message.ts';
export type { GovernorName } from './event-routing.ts';

// Tiers and licences
export {
  TIERS,
  TIER_IDS,
  FEATURES,
  UNLIMITED,
  isTierId,
  withinLimit,
  remainingUnder,
  hasFeature,
  tierChange,
  upgradePaths,
  downgradePaths,
} from './tiers.ts';
export type { TierId, Feature, Limit, TierLimits, TierDefinition, TierChange } from './tiers.ts';
export {
  KEY_ID_PATTERN,
  generateSigningKey,
  signingKeyFromSeed,
  exportSigningKeySeed,
  emptyKeyring,
  addPublicKey,
  rotateKeyring,
  removePublicKey,
  findPublicKey,
} from './signing-keys.ts';
export type { SigningKey, PublicKeyEntry, PublicKeyring, GenerateKeyOptions } from './signing-keys.ts';
export { issueLicence, decodeLicenceKey, LICENCE_SIGNING_CONTEXT, MAX_LICENCE_KEY_LENGTH } from './licence-key.ts';
export type { Licence, LicenceFields, DecodedLicenceKey, MalformedLicenceKey } from './licence-key.ts';
export { LicenceVerifier, LICENCE_CACHE_TTL_MS } from './licence-verifier.ts';
export type { LicenceVerification, LicenceRejectionReason, LicenceVerifierOptions } from './licence-verifier.ts';

// Money, pricing, invoices
export {
  ROUNDING_RULE,
  DECIMAL_STRING_PATTERN,
  CURRENCY_PATTERN,
  parseAmount,
  parseQuantity,
  roundToCents,
  formatCents,
  formatDecimal,
} from './money.ts';
export type { Quantity } from './money.ts';
export { METRICS, PRICE_PLANS, priceUsage, estimateCost } from './pricing.ts';
export type { Metric, MetricPricing, PricePlan, UsageQuantities, ChargeLine, PricedUsage, CostEstimate } from './pricing.ts';
export { PERIOD_PATTERN, billingPeriodOf, countUsage, createPeriodUsage, createUsageLedger, recordUsage, startNewPeriod, usageRecordKey } from './usage-ledger.ts';
export type { CountUsageResult, PeriodUsage, UsageLedger, UsageRecord, UsageReport, RecordUsageResult } from './usage-ledger.ts';
export { buildMonthlyInvoice } from './invoice.ts';
export type { Invoice, InvoiceAdjustment, MonthlyInvoiceInput } from './invoice.ts';
export { BILLING_CYCLES, dailyRate, cyclePrice, prorateTierChange } from './proration.ts';
export type { BillingCycle, BillingCycleDefinition, TierChangeRequest, Proration } from './proration.ts';
export { DEFAULT_DUNNING_SCHEDULE, checkDunningSchedule, dunningTimeline, dunningState } from './dunning.ts';
export type { DunningSchedule, DunningStep, DunningState } from './dunning.ts';

// Catalog and templates
export {
  SKU_TIERS,
  PRICE_RISE_NOTICE_DAYS,
  PRICE_RISE_NOTICE_THRESHOLD,
  SkuSchema,
  skuRevision,
  validateSku,
  checkPriceChange,
  emptyCatalog,
  findSku,
  saveSkuDraft,
  publishSku,
  deprecateSku,
  repriceSku,
  setSkuFeatured,
  currentPrice,
} from './catalog.ts';
export type { Sku, SkuIssue, SkuRecord, SkuCatalog, CatalogError, CatalogResult, PriceChange, PriceChangeCheck } from './catalog.ts';
export {
  TemplatePublicationSchema,
  emptyTemplateRegistry,
  findTemplate,
  findTemplateVersion,
  publishTemplate,
  unpublishTemplateVersion,
  deprecateTemplate,
  listTemplateVersions,
  latestTemplateVersion,
  rateTemplate,
  templateRating,
  searchTemplates,
} from './templates.ts';
export type {
  TemplateRegistry,
  TemplateRecord,
  TemplateVersion,
  TemplatePublication,
  TemplateError,
  TemplateResult,
  TemplateSummary,
  TemplateSearch,
  VersionQuery,
} from './templates.ts';
export { MAX_CONCURRENT_DOWNLOADS, DOWNLOAD_LEASE_MS, emptyDownloadLedger, beginDownload, finishDownload } from './downloads.ts';
export type { DownloadLedger, DownloadRequest, DownloadResult, DownloadOptions } from './downloads.ts';
export { resolveDependencies, packageIndexFromRegistry } from './dependency-resolution.ts';
export type { PackageIndex, PackageVersionInfo, Resolution, ResolutionError, ResolveOptions } from './dependency-resolution.ts';

// Receipts
export {
  GENESIS_HASH,
  GENESIS_TIP,
  RECEIPT_HASH_CONTEXT,
  ReceiptSchema,
  ReceiptEntrySchema,
  receiptHash,
  appendReceipt,
  tipOf,
  pseudonymiseCustomer,
  eventDigest,
} from './receipts.ts';
export type { Receipt, ReceiptEntry, ChainTip, GovernorOutcomeKind } from './receipts.ts';
export { CHAIN_HEAD_SIGNING_CONTEXT, SignedChainHeadSchema, signChainHead, verifyChainHead } from './receipt-head.ts';
export type { SignedChainHead, ChainHeadVerification } from './receipt-head.ts';
export { verifyReceiptChain } from './receipt-verification.ts';
export type { ReceiptChainVerification, ChainDamageKind, VerifyChainOptions } from './receipt-verification.ts';
