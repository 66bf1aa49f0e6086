import { getOwn, isSafeId } from './ids.ts';
import { TIERS, withinLimit, type TierId } from './tiers.ts';
import type { DownloadLedger } from './download-ledger.ts';
import { findTemplate, findTemplateVersion, latestTemplateVersion, put, type TemplateRegistry } from './templates.ts';

export type { DownloadLedger } from './download-ledger.ts';

/**
 * Template downloads: counting, the per-tier daily limits (Community 5, Professional 100,
 * Enterprise unlimited, per UTC day) and at most {@link MAX_CONCURRENT_DOWNLOADS} downloads in
 * flight per customer.
 *
 * A download holds a lease until it is finished; a client that never reports back loses its slot
 * when the lease runs out, so a crash cannot lock a customer out for good.
 */

/** Downloads one customer may have in flight. */
export const MAX_CONCURRENT_DOWNLOADS = 5;
/** How long an unfinished download holds its slot. @default 10 minutes */
export const DOWNLOAD_LEASE_MS = 600_000;


/** A download request. */
export interface DownloadRequest {
  /** Unique id of this download (the client's idempotency key). */
  readonly downloadId: string;
  readonly customerId: string;
  readonly tier: TierId;
  readonly templateId: string;
  /** A version; the latest published when absent. */
  readonly version?: string;
}

/** Outcome of {@link beginDownload}. */
export type DownloadResult =
  | { readonly ok: true; readonly registry: TemplateRegistry; readonly version: string; readonly remainingToday: number }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: 'invalid' | 'not_found' | 'daily_limit' | 'too_many_concurrent' | 'duplicate_download';
        readonly message: string;
      };
    };

/** An empty ledger. */
export function emptyDownloadLedger(): DownloadLedger {
  return { daily: {}, active: {} };
}

/** Options of {@link beginDownload}. */
export interface DownloadOptions {
  /** @default DOWNLOAD_LEASE_MS */
  readonly leaseMs?: number;
}

/** Starts a download: checks limits, counts it, and holds a concurrency slot until finished. */
export function beginDownload(registry: TemplateRegistry, request: DownloadRequest, now: number, options: DownloadOptions = {}): DownloadResult {
  if (!isSafeId(request.downloadId) || !isSafeId(request.customerId)) {
    return fail('invalid', 'downloadId and customerId must be safe ids');
  }
  const record = findTemplate(registry, request.templateId);
  const version = request.version ?? (record ? latestTemplateVersion(registry, record.id) : undefined);
  const found = version === undefined ? undefined : findTemplateVersion(registry, request.templateId, version);
  if (!record || !found || found.unpublished || version === undefined) {
    return fail('not_found', `${request.templateId}${request.version ? `@${request.version}` : ''} is not published`);
  }
  const leaseMs = options.leaseMs ?? DOWNLOAD_LEASE_MS;
  const live = Object.entries(registry.downloadLedger.active).filter(([, d]) => d.startedAt + leaseMs > now);
  if (live.some(([id]) => id === request.downloadId)) {
    return fail('duplicate_download', `download ${request.downloadId} is already in progress`);
  }
  const inFlight = live.filter(([, d]) => d.customerId === request.customerId).length;
  if (inFlight >= MAX_CONCURRENT_DOWNLOADS) {
    return fail('too_many_concurrent', `${MAX_CONCURRENT_DOWNLOADS} downloads are already in progress: finish one first`);
  }
  const day = new Date(now).toISOString().slice(0, 10);
  const previous = getOwn(registry.downloadLedger.daily, request.customerId);
  const today = previous?.day === day ? previous.count : 0;
  const limit = TIERS[request.tier].limits.templateDownloadsPerDay;
  if (!withinLimit(limit, today + 1)) {
    return fail('daily_limit', `the ${TIERS[request.tier].name} tier allows ${String(limit)} template downloads a day; upgrade or wait until 00:00 UTC`);
  }
  const downloadLedger: DownloadLedger = {
    daily: { ...registry.downloadLedger.daily, [request.customerId]: { day, count: today + 1 } },
    active: {
      ...Object.fromEntries(live),
      [request.downloadId]: { customerId: request.customerId, templateId: record.id, version, startedAt: now },
    },
  };
  const updated = put({ ...registry, downloadLedger }, { ...record, downloads: record.downloads + 1 });
  if (!updated.ok) return fail('invalid', updated.error.message);
  return {
    ok: true,
    registry: updated.registry,
    version,
    remainingToday: limit === 'unlimited' ? Number.POSITIVE_INFINITY : limit - today - 1,
  };
}

/** Releases a download's concurrency slot (idempotent). The download stays counted. */
export function finishDownload(registry: TemplateRegistry, downloadId: string): TemplateRegistry {
  if (!Object.hasOwn(registry.downloadLedger.active, downloadId)) return registry;
  const active = Object.fromEntries(Object.entries(registry.downloadLedger.active).filter(([id]) => id !== downloadId));
  return { ...registry, downloadLedger: { ...registry.downloadLedger, active } };
}

function fail(code: Extract<DownloadResult, { ok: false }>['error']['code'], message: string): DownloadResult {
  return { ok: false, error: { code, message } };
}
