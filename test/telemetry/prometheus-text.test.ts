import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../support/prometheus-text.ts';

// The parser the metrics tests read real nodes' /metrics with: it must read what Prometheus reads.
describe('the Prometheus text parser of the tests', () => {
  it('reads NaN and Inf in any case, as Prometheus (Go ParseFloat) does: prom-client writes Nan', () => {
    const families = parsePrometheusText(
      ['# HELP lag the lag', '# TYPE lag gauge', 'lag{at="a"} Nan', 'lag{at="b"} NaN', 'lag{at="c"} +Inf', 'lag{at="d"} -inf', 'lag{at="e"} 0.25', ''].join('\n'),
    );
    const values = families.get('lag')!.samples.map((s) => s.value);
    expect(values.slice(0, 2).every((v) => Number.isNaN(v))).toBe(true);
    expect(values.slice(2)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.25]);
  });

  it('refuses a value that is not a number, naming the line', () => {
    expect(() => parsePrometheusText(['# TYPE lag gauge', 'lag nope', ''].join('\n'))).toThrow(/line 2.*"nope" is not a number/);
  });
});
