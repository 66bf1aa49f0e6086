// Its own file: templates.ts and downloads.ts both need it, and downloads.ts builds on templates.ts.

/** Download counters. */
export interface DownloadLedger {
  /** Customer id → downloads started on `day` (UTC `YYYY-MM-DD`). */
  readonly daily: Readonly<Record<string, { readonly day: string; readonly count: number }>>;
  /** Download id → a download in flight. */
  readonly active: Readonly<Record<string, { readonly customerId: string; readonly templateId: string; readonly version: string; readonly startedAt: number }>>;
}
