import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { prefixOf } from '../../src/cli/enqueue/redis.ts';
import { governor } from './governor-command.ts';

describe('governor --version', () => {
  it("prints the package's version and exits 0, as -V does", () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const run = governor([flag]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(version);
    }
  });
});

describe('governor billing estimate', () => {
  it('prices the SPEC example to exactly 616.00 USD', () => {
    const run = governor(['billing', 'estimate', '--tier', 'professional', '--executions', '150000', '--compute-gb-hours', '600', '--transfer-gb', '120', '--api-calls', '1000000', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).total).toBe('616.00');
  });

  it.each([
    [['--tier', 'gold'], 'not a tier'],
    [['--tier', 'professional', '--executions', '-5'], 'not a non-negative decimal'],
    [['--tier', 'professional', '--api-calls', '1e9'], 'not a non-negative decimal'],
    [['--tier', 'professional', '--executions', 'NaN'], 'not a non-negative decimal'],
  ])('refuses %j with exit 2 and says why', (args, message) => {
    const run = governor(['billing', 'estimate', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toContain('    at ');
  });
});

describe('governor schema', () => {
  it('prints the lifecycle event JSON Schema', () => {
    const run = governor(['schema']);
    expect(run.code).toBe(0);
    const schema = JSON.parse(run.stdout);
    expect(JSON.stringify(schema)).toContain('CustomerSubscribes');
  });

  it('with --job, prints the lifecycle job data JSON Schema, as schemas/lifecycle-job.schema.json holds it', () => {
    const run = governor(['schema', '--job']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(readFileSync(new URL('../../schemas/lifecycle-job.schema.json', import.meta.url), 'utf8')));
  });
});

describe('governor license', () => {
  it('keygen, issue and verify round-trip; a changed key is rejected with exit 1', () => {
    const keygen = governor(['license', 'keygen', '--kid', 'k1']);
    expect(keygen.code).toBe(0);
    const { seed, publicKey } = JSON.parse(keygen.stdout);
    const issue = governor(
      ['license', 'issue', '--kid', 'k1', '--id', 'lic-1', '--org', 'Acme', '--tier', 'professional', '--seats', '5', '--expires', '2099-01-01T00:00:00Z'],
      { env: { GOVERNOR_SIGNING_SEED: seed } },
    );
    expect(issue.code).toBe(0);
    const key = issue.stdout.trim();
    const verify = governor(['license', 'verify', key, '--public-key', `k1=${publicKey}`, '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, licence: { id: 'lic-1', organisation: 'Acme', tier: 'professional', seats: 5 } });
    const tampered = key.slice(0, -3) + (key.endsWith('A') ? 'BBB' : 'AAA');
    const rejected = governor(['license', 'verify', tampered, '--public-key', `k1=${publicKey}`, '--json']);
    expect(rejected.code).toBe(1);
    expect(JSON.parse(rejected.stdout).ok).toBe(false);
  });

  it('issue without a seed exits 2 with the fix', () => {
    const run = governor(['license', 'issue', '--kid', 'k1', '--id', 'l', '--org', 'A', '--tier', 'community', '--expires', '2099-01-01'], {
      env: { GOVERNOR_SIGNING_SEED: '' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('governor license keygen');
  });
});

describe('governor deploy', () => {
  it('render prints the Kubernetes objects as YAML documents', () => {
    const run = governor(['deploy', 'render', '--provider', 'gcp', '--tier', 'enterprise', '--replicas', '2..6', '--image', 'registry.example.com/governor:1.2.3']);
    expect(run.code).toBe(0);
    const kinds = parseAllDocuments(run.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toEqual(['Namespace', 'ConfigMap', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
  });

  it('cost prints an estimate with exact totals', () => {
    const run = governor(['deploy', 'cost', '--provider', 'aws', '--tier', 'professional', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).estimate.atMin.total).toMatch(/^\d+\.\d{2}$/);
  });

  it('refuses an unknown provider with exit 2', () => {
    const run = governor(['deploy', 'render', '--provider', 'ibm', '--tier', 'community', '--image', 'governor:1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ibm');
  });
});

describe('governor', () => {
  it('an unknown command exits 2 and points at --help', () => {
    const run = governor(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--help');
  });
});

describe('the Redis key prefix of start, repl, enqueue, dlq and stats', () => {
  it('is --prefix, else GOVERNOR_PREFIX, else governor', () => {
    const saved = process.env.GOVERNOR_PREFIX;
    try {
      delete process.env.GOVERNOR_PREFIX;
      expect(prefixOf({})).toBe('governor');
      process.env.GOVERNOR_PREFIX = '{staging}';
      expect(prefixOf({})).toBe('{staging}');
      expect(prefixOf({ prefix: '{flag}' })).toBe('{flag}');
    } finally {
      if (saved === undefined) delete process.env.GOVERNOR_PREFIX;
      else process.env.GOVERNOR_PREFIX = saved;
    }
  });

  it('refuses an empty --prefix with exit 2 before connecting anywhere', () => {
    const run = governor(['start', '--redis', 'redis://127.0.0.1:1', '--prefix', '']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--prefix: the Redis key prefix must not be empty');
  });
});

describe('governor enqueue --wait before the event type', () => {
  it('is refused as usage, naming the type it swallowed and how to write it, before any Redis is reached', () => {
    const run = governor(['enqueue', '--wait', 'CustomerSubscribes', '--customer', 'c-1', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--wait: "CustomerSubscribes" is not a positive number of seconds');
    expect(run.stderr).toContain('--wait=30');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
