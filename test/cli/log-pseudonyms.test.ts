import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/cli/logger.ts';
import { lifecycleMessageRefusal } from '../../src/marketplace/lifecycle-message.ts';
import { pseudonymiseCustomer } from '../../src/marketplace/receipts.ts';
import { jobIdFor } from '../../src/transport/bullmq/job-format.ts';

const KEY = 'k'.repeat(43);

/** The JSON lines a node's logger (the CLI's options) writes for `log`, as a collector would read them. */
function linesOf(env: NodeJS.ProcessEnv, log: (logger: pino.Logger) => void): Array<Record<string, unknown>> {
  let text = '';
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((text += chunk.toString()), done()) });
  const logger = pino(loggerOptions('debug', env), sink).child({ node: 'n1' });
  log(logger);
  return text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

const logEverywhere = (logger: pino.Logger) => {
  logger.warn({ customerId: 'cust-42' }, 'a field');
  logger.warn({ event: { type: 'CustomerSubscribes', customerId: 'cust-42', contact: 'ann@example.com' } }, 'nested');
  logger.error({ err: new Error('entity:Orchestrator/cust-42 crashed') }, 'Billing/cust-42 gave up; AOF/RDB settings unread');
};

describe('customer ids in a node’s log', () => {
  it('are replaced by their receipt pseudonym in fields, nested events, messages and errors', () => {
    const lines = linesOf({ GOVERNOR_PSEUDONYM_KEY: KEY }, logEverywhere);
    const text = JSON.stringify(lines);
    const pseudonym = `~${pseudonymiseCustomer('cust-42', KEY).slice(0, 16)}`;
    expect(text).not.toContain('cust-42');
    expect(lines[0]).toMatchObject({ customerId: pseudonym, node: 'n1' });
    expect(lines[1]).toMatchObject({ event: { type: 'CustomerSubscribes', customerId: pseudonym, contact: '[redacted]' } });
    expect(lines[2]!.msg).toBe(`Billing/${pseudonym} gave up; AOF/RDB settings unread`);
    expect(JSON.stringify(lines[2]!.err)).toContain(`entity:Orchestrator/${pseudonym} crashed`);
  });

  it('are pseudonymised once: a text or field that passes through twice keeps the same pseudonym', () => {
    const pseudonym = `~${pseudonymiseCustomer('cust-42', KEY).slice(0, 16)}`;
    const lines = linesOf({ GOVERNOR_PSEUDONYM_KEY: KEY }, (logger) => {
      logger.child({ customerId: 'cust-42' }).warn({ jobId: 'ev.cust-42/e-1', reason: 'invalid message to Orchestrator/cust-42: no sku' }, 'dead-lettered');
    });
    expect(lines[0]).toMatchObject({ customerId: pseudonym, jobId: `ev.${pseudonym}/e-1`, reason: `invalid message to Orchestrator/${pseudonym}: no sku` });
  });

  /**
   * The line a node writes when it dead-letters a producer's lifecycle job (dead-letter-desk.ts),
   * its reason as the transport builds it (entity-job.ts) from the Orchestrator's refusal.
   */
  const deadLetterLine = (logger: pino.Logger, to: string, customerId: string) => {
    const event = { type: 'CustomerSubscribes', eventId: 'e-1', customerId, occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' };
    const id = `ev.${customerId}/e-1`;
    const refusal = lifecycleMessageRefusal({ type: 'lifecycle', event }, { entity: 'Orchestrator', key: to }, { t: 'cast', id });
    expect(refusal).toBeDefined();
    const reason = `invalid message to Orchestrator/${to}: ${refusal}`;
    logger.warn({ queue: '{p.3}', jobId: jobIdFor({ entity: 'Orchestrator', key: to }, id), reason }, 'dead-lettered');
  };

  it('are hidden when an invalid one starts with "~" like a pseudonym: in the job id and in the reason quoting it', () => {
    const lines = linesOf({ GOVERNOR_PSEUDONYM_KEY: KEY }, (logger) => deadLetterLine(logger, '~alice-7f3', '~alice-7f3'));
    const pseudonym = `~${pseudonymiseCustomer('~alice-7f3', KEY).slice(0, 16)}`;
    expect(JSON.stringify(lines)).not.toContain('alice-7f3');
    expect(lines[0]!.jobId).toBe(`Orchestrator/${pseudonym}/ev.${pseudonym}/e-1`);
    expect(lines[0]!.reason).toMatch(/^invalid message to Orchestrator\/~[0-9a-f]{16}: \$\.event\.customerId: must be .* \(pattern\), got "~[0-9a-f]{16}"$/);
    expect(String(lines[0]!.reason).split(pseudonym)).toHaveLength(3);
  });

  it('are hidden in a reason quoting them, such as a key mismatch naming both customers', () => {
    const lines = linesOf({ GOVERNOR_PSEUDONYM_KEY: KEY }, (logger) => deadLetterLine(logger, 'carol-3', 'bob-2'));
    const [carol, bob] = ['carol-3', 'bob-2'].map((id) => `~${pseudonymiseCustomer(id, KEY).slice(0, 16)}`);
    expect(JSON.stringify(lines)).not.toMatch(/carol-3|bob-2/);
    expect(lines[0]!.reason).toContain(`it is sent to, "${carol}" (key_mismatch), got "${bob}": send a customer's events to { entity: "Orchestrator", key: customerId }`);
  });

  it('are shown as they are with GOVERNOR_LOG_CUSTOMER_IDS=1 (secrets and contacts stay redacted)', () => {
    const lines = linesOf({ GOVERNOR_PSEUDONYM_KEY: KEY, GOVERNOR_LOG_CUSTOMER_IDS: '1' }, logEverywhere);
    expect(lines[0]).toMatchObject({ customerId: 'cust-42' });
    expect(lines[1]).toMatchObject({ event: { customerId: 'cust-42', contact: '[redacted]' } });
    expect(lines[2]!.msg).toBe('Billing/cust-42 gave up; AOF/RDB settings unread');
  });

  it('without a pseudonym key are still hidden, under a key of this process only', () => {
    const lines = linesOf({}, logEverywhere);
    expect(JSON.stringify(lines)).not.toContain('cust-42');
    expect(lines[0]!.customerId).toMatch(/^~[0-9a-f]{16}$/);
    expect(lines[0]!.customerId).not.toBe(`~${pseudonymiseCustomer('cust-42', KEY).slice(0, 16)}`);
  });
});
