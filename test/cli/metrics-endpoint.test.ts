import { describe, expect, it } from 'vitest';
import { metricsEndpoint } from '../../src/cli/node-telemetry.ts';
import { CliError, EXIT } from '../../src/cli/exit-codes.ts';
import { governor } from './governor-command.ts';

describe('the metrics endpoint of governor start', () => {
  it('is off without a port, and the flag wins over GOVERNOR_METRICS_PORT', () => {
    expect(metricsEndpoint(undefined, {})).toBeUndefined();
    expect(metricsEndpoint(undefined, { GOVERNOR_METRICS_PORT: '' })).toBeUndefined();
    expect(metricsEndpoint(undefined, { GOVERNOR_METRICS_PORT: '9464' })).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(metricsEndpoint('0', { GOVERNOR_METRICS_PORT: '9464', GOVERNOR_METRICS_HOST: '0.0.0.0' })).toEqual({ port: 0, host: '0.0.0.0' });
  });

  it('refuses a port that is not an integer from 0 to 65535, as a usage error saying what is allowed', () => {
    for (const bad of ['-1', '65536', '9464x', '1.5', 'http']) {
      let error: unknown;
      try {
        metricsEndpoint(bad, {});
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(EXIT.usage);
      expect((error as CliError).message).toContain('0 to 65535');
    }
  });
});

describe('governor start --metrics-port on the embedded node', () => {
  it('prints where it serves metrics, and closes the endpoint when the REPL ends', () => {
    const result = governor(['start', '--metrics-port', '0'], { input: 'tree()\n', env: { REDIS_URL: '' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^governor: metrics on http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    expect(result.stdout).toContain('Governor embedded node');
  });

  it('refuses a bad port before starting anything, with exit 2', () => {
    const result = governor(['start', '--metrics-port', 'nine'], { input: '', env: { REDIS_URL: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('0 to 65535');
  });
});
