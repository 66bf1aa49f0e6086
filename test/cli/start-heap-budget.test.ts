/**
 * `governor start --heap-budget`: a value that is not a positive number of MiB is refused before
 * anything starts (exit 2, naming the flag), never silently ignored.
 */
import { describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';

describe('governor start --heap-budget', () => {
  it.each(['lots', '-64'])('refuses %j with exit 2, naming the flag and what it takes', (value) => {
    // A Redis URL nobody listens on: the flag must be refused before any connection is tried.
    const run = governor(['start', '--redis', 'redis://127.0.0.1:1', '--heap-budget', value]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('--heap-budget');
    expect(run.stderr).toContain('positive number of MiB');
  });
});
