import { assign, setup } from 'xstate';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
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

type D = ComplianceData;

/** Failed payments within 24 h that open an AML audit (card testing looks like this). */
export const AML_FAILURES_PER_DAY = 5;
export const REMEDIATION_DAYS = 30;
export const RETENTION_DAYS = 90;

const INITIAL: D = { failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: false };
/** What is kept of an erased customer: the fact of erasure, nothing else. */
const ERASED_DATA: D = { failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: true };

type ComplianceEvent =
  | DomainEvent<'CustomerSubscribes'>
  | DomainEvent<'PaymentFailed'>
  | DomainEvent<'CustomerCancels'>
  | DomainEvent<'ManualSuspension', { actor: unknown; reason: unknown }>
  | DomainEvent<'SuspensionLifted'>
  | DomainEvent<'CustomerErasureRequested'>
  | DomainTimeout;

/** The failed payments of the last 24 h with this one (the AML window), or none for a timer. */
function failuresWith(data: D, event: ComplianceEvent): readonly number[] {
  if (event.type === 'timeout') return data.failures;
  const at = eventTime(event);
  return [...data.failures.filter((t) => at - t < DAY_MS), at].slice(-AML_FAILURES_PER_DAY * 2);
}

const timeOf = (event: ComplianceEvent): number | null => (event.type === 'timeout' ? null : eventTime(event));

/** The customer's audits, holds and retention, written out. */
export const complianceDomain = setup({
  types: {} as { context: DomainContext<D>; events: ComplianceEvent },
  guards: {
    /** Enough failed payments within 24 h, this one included, to look like card testing. */
    amlPattern: ({ context, event }) => failuresWith(context.data, event).length >= AML_FAILURES_PER_DAY,
    /** Cancelled before or during the audit: closing it starts the retention clock. */
    cancelled: ({ context }) => context.data.cancelledAt !== null,
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    subscribe: assign(({ context, event }) => ({ data: { ...context.data, subscribedAt: timeOf(event), cancelledAt: null, erased: false }, outcome: outcome.applied })),
    countFailure: assign(({ context, event }) => ({ data: { ...context.data, failures: failuresWith(context.data, event) }, outcome: outcome.applied })),
    /** Runs after `countFailure`: the failures are the window's already. */
    openAmlAudit: assign(({ context, event }) => ({
      data: { ...context.data, auditReason: `AML: ${context.data.failures.length} failed payments within 24 h`, auditOpenedAt: timeOf(event) },
      outcome: outcome.applied,
    })),
    openSuspensionAudit: assign(({ context, event }) => ({
      data: {
        ...context.data,
        auditReason: event.type === 'ManualSuspension' ? `suspension by ${String(event.actor)}: ${String(event.reason)}` : 'suspension',
        auditOpenedAt: timeOf(event),
      },
      outcome: outcome.applied,
    })),
    recordCancellation: assign(({ context, event }) => ({ data: { ...context.data, cancelledAt: timeOf(event) }, outcome: outcome.applied })),
    /** Whoever lifts a suspension has reviewed the case: the audit closes. */
    closeAudit: assign(({ context }) => ({ data: { ...context.data, auditReason: null, auditOpenedAt: null }, outcome: outcome.applied })),
    /** Storage limitation: nothing but the fact of erasure is kept. */
    erase: assign({ data: ERASED_DATA, outcome: outcome.applied }),
  },
}).createMachine({
  id: 'Compliance',
  initial: 'Compliant',
  context: domainContext(INITIAL),
  states: {
    Compliant: {
      on: {
        CustomerSubscribes: { actions: 'subscribe' },
        PaymentFailed: [{ guard: 'amlPattern', target: 'UnderAudit', actions: ['countFailure', 'openAmlAudit'] }, { actions: 'countFailure' }],
        CustomerCancels: { target: 'Retaining', actions: 'recordCancellation' },
        ManualSuspension: { target: 'UnderAudit', actions: 'openSuspensionAudit' },
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no audit open' } } },
        CustomerErasureRequested: { target: 'Erased', actions: 'erase' },
      },
    },
    UnderAudit: {
      on: {
        CustomerSubscribes: {
          actions: { type: 'reject', params: ({ context }) => ({ reason: `a compliance audit is open (${context.data.auditReason}): it must close first` }) },
        },
        PaymentFailed: { actions: 'countFailure' },
        // An open audit is a legal hold: the data stays, the retention clock waits.
        CustomerCancels: { actions: 'recordCancellation' },
        ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'already under audit' } } },
        SuspensionLifted: [{ guard: 'cancelled', target: 'Retaining', actions: 'closeAudit' }, { target: 'Compliant', actions: 'closeAudit' }],
        CustomerErasureRequested: {
          actions: { type: 'reject', params: { reason: 'LEGAL_HOLD: a compliance audit is open; personal data is kept until it closes (GDPR Art. 17(3)): erase again after' } },
        },
        timeout: { target: 'NonCompliant' },
      },
    },
    NonCompliant: {
      on: {
        // The hold fact does the refusing, through the declared manual-override rule.
        CustomerSubscribes: {
          actions: { type: 'notApplicable', params: ({ context }) => ({ reason: `non-compliant since the audit "${context.data.auditReason}" passed its deadline` }) },
        },
        PaymentFailed: { actions: 'countFailure' },
        CustomerCancels: { actions: 'recordCancellation' },
        ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'already under audit' } } },
        SuspensionLifted: [{ guard: 'cancelled', target: 'Retaining', actions: 'closeAudit' }, { target: 'Compliant', actions: 'closeAudit' }],
        CustomerErasureRequested: {
          actions: { type: 'reject', params: { reason: 'LEGAL_HOLD: the customer is non-compliant; personal data is kept until it closes (GDPR Art. 17(3)): erase again after' } },
        },
      },
    },
    Retaining: {
      on: {
        CustomerSubscribes: { target: 'Compliant', actions: 'subscribe' },
        PaymentFailed: [{ guard: 'amlPattern', target: 'UnderAudit', actions: ['countFailure', 'openAmlAudit'] }, { actions: 'countFailure' }],
        CustomerCancels: { actions: { type: 'notApplicable', params: { reason: 'nothing to retain' } } },
        ManualSuspension: { target: 'UnderAudit', actions: 'openSuspensionAudit' },
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no audit open' } } },
        CustomerErasureRequested: { target: 'Erased', actions: 'erase' },
        timeout: { target: 'Erased', actions: 'erase' },
      },
    },
    Erased: {
      on: {
        // Erasure ends no contract: a new subscription is a new relationship.
        CustomerSubscribes: { target: 'Compliant', actions: 'subscribe' },
        PaymentFailed: { actions: { type: 'notApplicable', params: { reason: 'the customer’s data is erased' } } },
        CustomerCancels: { actions: { type: 'notApplicable', params: { reason: 'nothing to retain' } } },
        ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'already erased' } } },
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no audit open' } } },
        CustomerErasureRequested: { actions: { type: 'notApplicable', params: { reason: 'the customer’s data is erased already' } } },
      },
    },
  },
});

export const complianceGovernor = governorFromMachine<ComplianceState, D>(complianceDomain, {
  kind: 'Compliance',
  init: () => INITIAL,
  timing: {
    UnderAudit: { ms: REMEDIATION_DAYS * DAY_MS },
    Retaining: { ms: RETENTION_DAYS * DAY_MS },
  },
  facts: (state) => ({ compliance: state, ...(state === 'NonCompliant' ? { hold: true } : {}) }),
  queries: {
    /** GDPR export: everything this governor holds about the customer. */
    export: ({ customerId, state, data }) => ({ customerId, governor: 'Compliance', state, record: data }),
  },
});

/** The pure decision of the Compliance governor: its machine, taken one event. */
export const decideCompliance = (state: ComplianceState, data: D, event: LifecycleEvent) => complianceGovernor.decide(state, data, event, event.customerId);

export const complianceMachine = defineGovernor(complianceGovernor);
