import { createHmac, timingSafeEqual } from 'node:crypto';
import { GovernorError } from '../errors.ts';

/**
 * The wire format of `governor repl` over Redis: a request pushed onto a node's admin list and
 * the reply pushed back. Pure: no Redis, no clock (the caller passes `now`), so the rules of
 * who may do what are testable on their own.
 */

/** A command sent to one node's admin listener. `args` must be JSON-safe. */
export interface AdminRequest {
  readonly id: string;
  readonly node: string;
  readonly command: string;
  readonly args: readonly unknown[];
  /** Random and single-use: the node remembers it, so a captured request cannot be replayed. */
  readonly nonce: string;
  /** Milliseconds since the epoch, at the client. */
  readonly issuedAt: number;
  /** Hex HMAC-SHA256 of {@link canonical} with the shared admin token. */
  readonly signature?: string;
}

/** The reply to an {@link AdminRequest}. */
export type AdminReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * Commands that only read; the node runs them unsigned, as Redis access already allows reading.
 * Everything else (`enqueue` and `dlq_replay` among them) changes the system and needs a signature.
 */
export const READ_COMMANDS: ReadonlySet<string> = new Set([
  'nodes',
  'tree',
  'which_children',
  'count_children',
  'get_state',
  'get_status',
  'state',
  'stats',
  'queues',
  'dlq',
  'audit_verify',
  // Reads personal data, but no more than Redis access already allows reading.
  'customer_export',
  'clock',
]);

/** How far a request's `issuedAt` may be from the node's clock, either way. @default 30 s */
export const MAX_SKEW_MS = 30_000;

export type AdminAuthCode = 'ADMIN_UNSIGNED' | 'ADMIN_BAD_SIGNATURE' | 'ADMIN_STALE' | 'ADMIN_REPLAYED' | 'ADMIN_NO_TOKEN';

/** A request the node will not run: unsigned, forged, too old/new, replayed, or no token on the node. */
export class AdminAuthError extends GovernorError {
  declare readonly code: AdminAuthCode;
  constructor(code: AdminAuthCode, message: string) {
    super(code, message);
  }
}

/** True when the command changes the system and so needs a signature. Unknown commands count as mutating. */
export function needsSignature(command: string): boolean {
  return !READ_COMMANDS.has(command);
}

/**
 * The exact bytes that are signed. Every field but the signature, in a fixed order, as a JSON
 * array: key order of `args` objects is kept as sent, and the node verifies the same parsed
 * object, so what is checked is what runs.
 */
export function canonical(request: AdminRequest): string {
  return JSON.stringify([request.id, request.node, request.command, request.args, request.nonce, request.issuedAt]);
}

/** The request with its HMAC-SHA256 signature under `token`. */
export function sign(request: AdminRequest, token: string): AdminRequest {
  const { signature: _ignored, ...unsigned } = request;
  return { ...unsigned, signature: hmac(unsigned, token) };
}

function hmac(request: AdminRequest, token: string): string {
  return createHmac('sha256', token).update(canonical(request)).digest('hex');
}

/**
 * Checks a mutating request: a signature under `token` and a timestamp within {@link MAX_SKEW_MS}
 * of `now`. Read commands pass unchecked. Replays are the caller's part (it owns the nonce store);
 * it throws `ADMIN_REPLAYED` via {@link replayedError}.
 */
export function verify(request: AdminRequest, token: string | undefined, now: number): void {
  if (!needsSignature(request.command)) return;
  if (!token) {
    throw new AdminAuthError(
      'ADMIN_NO_TOKEN',
      `node refuses ${request.command}: it was started without GOVERNOR_ADMIN_TOKEN, so it only answers read commands`,
    );
  }
  if (typeof request.signature !== 'string' || request.signature.length === 0) {
    throw new AdminAuthError('ADMIN_UNSIGNED', `${request.command} changes the system and needs a signed request (set GOVERNOR_ADMIN_TOKEN)`);
  }
  const expected = Buffer.from(hmac(request, token), 'hex');
  const given = Buffer.from(request.signature, 'hex');
  // Length first: timingSafeEqual throws on unequal lengths, and the length of a hex HMAC is public.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AdminAuthError('ADMIN_BAD_SIGNATURE', `bad signature on ${request.command}: the client's GOVERNOR_ADMIN_TOKEN differs from the node's`);
  }
  if (typeof request.issuedAt !== 'number' || Math.abs(now - request.issuedAt) > MAX_SKEW_MS) {
    throw new AdminAuthError(
      'ADMIN_STALE',
      `request ${request.id} was issued ${Math.round((now - request.issuedAt) / 1000)} s from the node's clock (limit ±${MAX_SKEW_MS / 1000} s): check the clocks`,
    );
  }
}

/** The refusal for a nonce seen before. */
export function replayedError(request: AdminRequest): AdminAuthError {
  return new AdminAuthError('ADMIN_REPLAYED', `request ${request.id} reuses nonce ${request.nonce}: refused as a replay`);
}

/** Parses a request off the wire, field by field; throws a TypeError saying what is wrong. */
export function parseRequest(raw: string): AdminRequest {
  const value: unknown = JSON.parse(raw);
  if (typeof value !== 'object' || value === null) throw new TypeError('an admin request is a JSON object');
  const r = value as Record<string, unknown>;
  for (const field of ['id', 'node', 'command', 'nonce'] as const) {
    if (typeof r[field] !== 'string') throw new TypeError(`admin request field "${field}" must be a string`);
  }
  if (!Array.isArray(r.args)) throw new TypeError('admin request field "args" must be an array');
  if (typeof r.issuedAt !== 'number') throw new TypeError('admin request field "issuedAt" must be a number');
  if (r.signature !== undefined && typeof r.signature !== 'string') throw new TypeError('admin request field "signature" must be a string');
  return r as unknown as AdminRequest;
}
