import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type Decision, type GovernorDefinition } from './governor-kit.ts';
import { DAY_MS } from './plan.ts';

/**
 * The Compliance governor: audits, legal holds and data retention of one customer.
 *
 *   Compliant → UnderAudit (a suspension, or repeated failed payments: AML) → NonCompliant after
 *   the 30-day remediation deadline (a hold: new activations go to manual override);
 *   Compliant → Retaining (after a cancellation, 90 d) → Erased
 *
 * A hold is reported as the fact `hold: true`; the orchestrator's declared rule turns an
 * activation against it into a manual-override conflict, recorded with both sides. An open audit
 * is a legal hold: a cancellation during it does not start the retention clock. Erasure keeps no
 * timestamps or reasons, only the fact of erasure; receipts hold pseudonyms, so the audit chain
 * still verifies.
 *
 * GDPR erasure on request (`CustomerErasureRequested`, Art. 17): from Compliant or Retaining to
 * Erased at once, keeping only the fact; refused while an audit is open or the customer is
 * non-compliant (a legal hold: Art. 17(3)(b) and (e) keep the data for it), so the orchestrator
 * aborts the CustomerAccount's erasure too and the request is answered `rejected` with the reason.
 * A second request on an erased customer is not applicable. Erasure ends no contract: a later
 * `CustomerSubscribes` is a new relationship and returns the customer to Compliant.
 *
 * From the seeds' five states, AuditPending and AuditInProgress are one (no event tells them
 * apart) and RemediationInProgress is the audit's deadline. Frameworks, breach phases and
 * residency need events nobody sends yet (TODO: an AuditCompleted event).
 */
export const COMPLIANCE_STATES = ['Compliant', 'UnderAudit', 'NonCompliant', 'Retaining', 'Erased'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

export interface ComplianceData {
  /** Failed payments of the last 24 h (epoch ms), for the AML pattern. */
  readonly failures: readonly number[];
  readonly auditReason: string | null;
  readonly auditOpenedAt: number | null;
  readonly subscribedAt: number | null;
  readonly cancelledAt: number | null;
  readonly erased: boolean;
}

type S = ComplianceState;
type D = ComplianceData;

/** Failed payments within 24 h that open an AML audit (card testing looks like this). */
export const AML_FAILURES_PER_DAY = 5;
export const REMEDIATION_DAYS = 30;
export const RETENTION_DAYS = 90;

/** What is kept of an erased customer: the fact of erasure, nothing else. */
const ERASED_DATA: D = { failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: true };

const applied = (state: S, data: D): Decision<S, D> => ({ status: 'applied', next: { state, data } });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Decision<S, D> => ({ status: 'not_applicable', reason });
const audit = (data: D, reason: string, at: number): D => ({ ...data, auditReason: reason, auditOpenedAt: at });

/** The pure decision of the Compliance governor. */
export function decideCompliance(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  const at = eventTime(event);
  switch (event.type) {
    case 'CustomerSubscribes':
      if (state === 'UnderAudit') return rejected(`a compliance audit is open (${data.auditReason}): it must close first`);
      // The hold fact does the refusing, through the declared manual-override rule.
      if (state === 'NonCompliant') return notApplicable(`non-compliant since the audit "${data.auditReason}" passed its deadline`);
      return applied('Compliant', { ...data, subscribedAt: at, cancelledAt: null, erased: false });
    case 'PaymentFailed': {
      if (state === 'Erased') return notApplicable('the customer’s data is erased');
      const failures = [...data.failures.filter((t) => at - t < DAY_MS), at].slice(-AML_FAILURES_PER_DAY * 2);
      const pattern = failures.length >= AML_FAILURES_PER_DAY;
      if (pattern && (state === 'Compliant' || state === 'Retaining')) {
        return applied('UnderAudit', audit({ ...data, failures }, `AML: ${failures.length} failed payments within 24 h`, at));
      }
      return applied(state, { ...data, failures });
    }
    case 'CustomerCancels':
      if (state === 'Compliant') return applied('Retaining', { ...data, cancelledAt: at });
      // An open audit or a hold is a legal hold: the data stays, the retention clock waits.
      if (state === 'UnderAudit' || state === 'NonCompliant') return applied(state, { ...data, cancelledAt: at });
      return notApplicable('nothing to retain');
    case 'ManualSuspension':
      if (state !== 'Compliant' && state !== 'Retaining') return notApplicable(`already ${state === 'Erased' ? 'erased' : 'under audit'}`);
      return applied('UnderAudit', audit(data, `suspension by ${String(event.actor)}: ${String(event.reason)}`, at));
    case 'SuspensionLifted':
      // Whoever lifts a suspension has reviewed the case: the audit closes.
      if (state !== 'UnderAudit' && state !== 'NonCompliant') return notApplicable('no audit open');
      return applied(data.cancelledAt !== null ? 'Retaining' : 'Compliant', { ...data, auditReason: null, auditOpenedAt: null });
    case 'CustomerErasureRequested':
      if (state === 'UnderAudit' || state === 'NonCompliant') {
        return rejected(`LEGAL_HOLD: ${state === 'UnderAudit' ? 'a compliance audit is open' : 'the customer is non-compliant'}; personal data is kept until it closes (GDPR Art. 17(3)): erase again after`);
      }
      if (state === 'Erased' && data.erased) return notApplicable('the customer’s data is erased already');
      return applied('Erased', ERASED_DATA);
    default:
      return notApplicable(`Compliance does not handle ${event.type}`);
  }
}

export const complianceGovernor: GovernorDefinition<S, D> = {
  kind: 'Compliance',
  states: COMPLIANCE_STATES,
  initial: 'Compliant',
  init: () => ({ failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: false }),
  decide: decideCompliance,
  targets: ['Compliant', 'UnderAudit', 'NonCompliant', 'Retaining', 'Erased'],
  timeouts: {
    UnderAudit: { ms: REMEDIATION_DAYS * DAY_MS, to: 'NonCompliant' },
    // Storage limitation: nothing but the fact of erasure is kept.
    Retaining: {
      ms: RETENTION_DAYS * DAY_MS,
      to: 'Erased',
      update: () => ERASED_DATA,
    },
  },
  facts: (state) => ({ compliance: state, ...(state === 'NonCompliant' ? { hold: true } : {}) }),
  queries: {
    /** GDPR export: everything this governor holds about the customer. */
    export: ({ customerId, state, data }) => ({ customerId, governor: 'Compliance', state, record: data }),
  },
};

export const complianceMachine = defineGovernor(complianceGovernor);
