import { describe, expect, it } from 'vitest';
import { enqueueExitCode, type EnqueueFindings } from '../../src/cli/enqueue/exit-code.ts';

describe('governor enqueue: one exit code, 3 > 2 > 5 > 1 > 0', () => {
  const names = ['unavailable', 'badInput', 'throttled', 'refused'] as const;
  const every = Array.from({ length: 16 }, (_, mask) => Object.fromEntries(names.map((name, i) => [name, (mask & (1 << i)) !== 0])) as Required<EnqueueFindings>);

  it.each(every)('%o', (findings) => {
    const expected = findings.unavailable ? 3 : findings.badInput ? 2 : findings.throttled ? 5 : findings.refused ? 1 : 0;
    expect(enqueueExitCode(findings)).toBe(expected);
  });

  it('a bad line wins over a rejection seen by --wait (the case that used to print 1 or 2 by accident of order)', () => {
    expect(enqueueExitCode({ badInput: true, refused: true })).toBe(2);
  });
});
