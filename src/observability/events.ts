import type { Platform } from './platform.ts';
import type { JsonValue } from './json-value.ts';
import { redactString } from './redact.ts';

/** The four kinds of product telemetry event. */
export const TELEMETRY_EVENT_TYPES = ['execution_start', 'execution_end', 'error', 'feature_adoption'] as const;
export type TelemetryEventType = (typeof TELEMETRY_EVENT_TYPES)[number];

/** Licence tiers, as telemetry reports them (feature adoption is counted per tier). */
export const TELEMETRY_TIERS = ['community', 'professional', 'enterprise'] as const;
export type TelemetryTier = (typeof TELEMETRY_TIERS)[number];

export type { JsonValue } from './json-value.ts';

/**
 * What the governors and the runtime hand to the collector. Nothing here leaves the process as
 * given: the organisation is replaced by its keyed HMAC and the properties are redacted.
 */
export interface TelemetryInput {
  readonly type: TelemetryEventType;
  /** The raw organisation (customer) id. Only its HMAC token is ever sent. */
  readonly organisation: string;
  /** A feature identifier such as `billing.invoice` (letters, digits, `.`, `_`, `:`, `/`, `-`). */
  readonly feature: string;
  readonly tier?: TelemetryTier;
  /** How long the execution took, in milliseconds (`execution_end`, usually). */
  readonly duration?: number;
  /** @default `false` for `error`, `true` otherwise */
  readonly success?: boolean;
  /** Free-form details; redacted deeply before they are buffered. */
  readonly properties?: Readonly<Record<string, unknown>>;
  /** For `error` events: its name, `code` and redacted message are sent, never its stack. */
  readonly error?: unknown;
}

/**
 * One event as sent to a sink: the complete list of what Governor's product telemetry ever
 * transmits (see the telemetry README).
 */
export interface TelemetryEvent {
  /** A random event id (for de-duplication by consumers). */
  readonly id: string;
  readonly type: TelemetryEventType;
  /** When it happened, ISO 8601 in UTC. */
  readonly time: string;
  /** HMAC-SHA256 of the organisation id under the installation's secret, hex. */
  readonly organisation: string;
  readonly feature: string;
  readonly tier: TelemetryTier | null;
  /** Milliseconds, or `null` when not measured. */
  readonly duration: number | null;
  readonly success: boolean;
  /** Redacted properties. */
  readonly properties: { readonly [key: string]: JsonValue };
  readonly platform: Platform;
}

/** Feature ids are identifiers, not free text: no spaces, no `@`, at most 128 characters. */
const FEATURE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

/**
 * Checks an input at the door. Returns the reason it is unusable, or `undefined` when it is fine.
 * A bad event is a bug in the caller, but telemetry must never take a governor down, so this is a
 * result the collector counts rather than an exception.
 */
export function checkTelemetryInput(input: TelemetryInput): string | undefined {
  if (!(TELEMETRY_EVENT_TYPES as readonly string[]).includes(input.type)) {
    return `type must be one of ${TELEMETRY_EVENT_TYPES.join(', ')}, got ${JSON.stringify(input.type)}`;
  }
  if (typeof input.organisation !== 'string' || input.organisation.length === 0 || input.organisation.length > 256) {
    return 'organisation must be a non-empty string of at most 256 characters';
  }
  if (typeof input.feature !== 'string' || !FEATURE_PATTERN.test(input.feature)) {
    return `feature must match ${FEATURE_PATTERN.source}, got ${JSON.stringify(input.feature)}`;
  }
  // Feature ids are sent as they are, so one that looks like personal data (an IP address, a
  // card number) is refused rather than redacted into something meaningless.
  if (redactString(input.feature) !== input.feature) {
    return 'feature must be an identifier, not personal data (it looks like an IP address or a card number)';
  }
  if (input.tier !== undefined && !(TELEMETRY_TIERS as readonly string[]).includes(input.tier)) {
    return `tier must be one of ${TELEMETRY_TIERS.join(', ')}, got ${JSON.stringify(input.tier)}`;
  }
  if (input.duration !== undefined && !(Number.isFinite(input.duration) && input.duration >= 0)) {
    return `duration must be a finite number of milliseconds ≥ 0, got ${String(input.duration)}`;
  }
  if (input.success !== undefined && typeof input.success !== 'boolean') {
    return 'success must be a boolean';
  }
  if (input.properties !== undefined && (typeof input.properties !== 'object' || input.properties === null)) {
    return 'properties must be an object';
  }
  return undefined;
}
