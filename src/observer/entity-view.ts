import type { Admin } from '../cli/admin.ts';
import { isEntityAddress } from '../runtime/entity.ts';
import type { parseRef } from '../cli/ref.ts';
import { topState } from './machine-svg.ts';

/** What the entity view shows: its state (committed when not resident), status and statistics. */
export interface EntityView {
  readonly ref: string;
  /** The entity kind, whose machine the page draws; undefined for a plain process. */
  readonly kind: string | undefined;
  /** The top-level state the drawing highlights. */
  readonly current: string | undefined;
  readonly state: unknown;
  /** get_status: mailbox, statistics and timers when resident, the committed state otherwise. */
  readonly status: unknown;
}

/** Reads one entity (or process) through the Admin: `get_state` and `get_status`, as the REPL does. */
export async function entityView(admin: Admin, ref: ReturnType<typeof parseRef>): Promise<EntityView> {
  const [state, status] = await Promise.all([admin.get_state(ref), admin.get_status(ref).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }))]);
  const value = (state as { value?: unknown } | undefined)?.value;
  return {
    ref: isEntityAddress(ref) ? `${ref.entity}/${ref.key}` : String(ref),
    kind: isEntityAddress(ref) ? ref.entity : undefined,
    current: topState(value),
    state,
    status,
  };
}

/**
 * A customer's audit trail: its receipt chain verified (`audit_verify`) and the receipts as the
 * GDPR export lists them (`customer_export`, the file `governor audit verify --file` checks).
 */
export async function auditView(admin: Admin, customerId: string): Promise<{ verification: unknown; receipts: unknown }> {
  if (customerId.trim() === '') throw new TypeError('which customer? /api/audit?customer=<customerId>');
  const [verification, exported] = await Promise.all([admin.audit_verify(customerId), admin.customer_export(customerId)]);
  return { verification, receipts: (exported as { receipts?: unknown }).receipts ?? [] };
}
