import { describe, expect, it } from 'vitest';
import { fleetReporter } from '../../src/observability/fleet-reporter.ts';
import { deadLetterReasonCode } from '../../src/transport/bullmq/dead-letter-desk.ts';
import { parsePrometheusText, samplesOf } from '../support/prometheus-text.ts';

describe('the node that reports a fleet’s shared series', () => {
  const member = (name: string, startedAt: number | undefined, alive = true) => ({ name, alive, info: startedAt === undefined ? undefined : { startedAt } });

  it('is the oldest live member, whatever the order the members are listed in', () => {
    const members = [member('b', 300), member('a', 200), member('c', 100, false), member('d', undefined)];
    expect(fleetReporter(members)).toBe('a');
    expect(fleetReporter([...members].reverse())).toBe('a');
  });

  it('breaks a tie on start time by name, counts a member without info as the youngest, and is undefined with no one alive', () => {
    expect(fleetReporter([member('y', 5), member('x', 5)])).toBe('x');
    expect(fleetReporter([member('old-version', undefined), member('n', 9)])).toBe('n');
    expect(fleetReporter([member('gone', 1, false)])).toBeUndefined();
  });
});

describe('dead-letter reason codes', () => {
  it.each([
    ['invalid job: unknown field "x": a job\'s data is { v, id?, env }', 'invalid_job'],
    ['a partition job must be addressed to an entity { entity, key }', 'invalid_job'],
    ['unknown entity kind "Nope": the nodes consuming {p.1} do not host it', 'unknown_kind'],
    ['invalid message to Orchestrator/c1: IDEMPOTENCY_KEY_REUSED: eventId "e"', 'refused_by_kind'],
    ['Billing/c1 belongs to partition 3, not 4: producers and nodes must use the same number of partitions', 'wrong_partition'],
    ['the handler crashed 4 times (retry budget 3): boom', 'retry_budget_exhausted'],
    ['failed in BullMQ: job stalled more than allowable limit', 'failed_in_bullmq'],
    ['the state stored at governor:s:{p.1}:Billing:c1 has schema version 9', 'stored_state_unreadable'],
    ['something new', 'other'],
  ])('%s → %s', (reason, code) => {
    expect(deadLetterReasonCode(reason)).toBe(code);
  });
});

describe('the Prometheus text-format parser of the tests', () => {
  it('reads families, HELP and TYPE, escaped label values and histogram samples', () => {
    const families = parsePrometheusText(
      [
        '# HELP a_total Things, with a \\\\ and a\\nnewline.',
        '# TYPE a_total counter',
        'a_total{queue="{p.1}",msg="say \\"hi\\"\\\\"} 3',
        '# TYPE h histogram',
        'h_bucket{le="0.5"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.7',
        'h_count 2',
        'plain 1.5e3 1700000000000',
      ].join('\n'),
    );
    const a = families.get('a_total')!;
    expect(a).toMatchObject({ type: 'counter', help: 'Things, with a \\ and a\nnewline.' });
    expect(a.samples).toEqual([{ name: 'a_total', labels: { queue: '{p.1}', msg: 'say "hi"\\' }, value: 3 }]);
    expect(families.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_bucket', 'h_sum', 'h_count']);
    expect(samplesOf(families, 'h_bucket', { le: '+Inf' })[0]!.value).toBe(2);
    expect(families.get('plain')).toMatchObject({ type: 'untyped', samples: [{ value: 1500 }] });
  });

  it.each([
    ['a value that is not a number', 'x{a="1"} one'],
    ['an unterminated label value', 'x{a="1} 2'],
    ['a second TYPE', '# TYPE x gauge\n# TYPE x gauge'],
    ['an unknown type', '# TYPE x meter'],
    ['a label given twice', 'x{a="1",a="2"} 1'],
  ])('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow(/line \d/);
  });
});
