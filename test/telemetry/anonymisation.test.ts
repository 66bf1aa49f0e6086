import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createAnonymiser,
  generateInstallationSecret,
  MemorySink,
  TelemetryCollector,
  TelemetrySecretError,
} from '../../src/observability/index.ts';

const secretA = 'installation-secret-A-0123456789';
const secretB = 'installation-secret-B-0123456789';

describe('organisation anonymisation (keyed HMAC)', () => {
  it('maps the same id to the same token under one secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        expect(createAnonymiser(secretA)(id)).toBe(createAnonymiser(secretA)(id));
      }),
    );
  });

  it('maps the same id to a different token under another secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        expect(createAnonymiser(secretA)(id)).not.toBe(createAnonymiser(secretB)(id));
      }),
    );
  });

  it('gives different ids different tokens', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(a !== b);
        const anonymise = createAnonymiser(secretA);
        expect(anonymise(a)).not.toBe(anonymise(b));
      }),
    );
  });

  it('is not a plain hash of the id, which anyone could recompute from a guess', () => {
    const token = createAnonymiser(secretA)('acme-corp');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toBe(createHash('sha256').update('acme-corp').digest('hex'));
    expect(token).not.toContain('acme');
  });

  it('accepts byte secrets and generated secrets', () => {
    const generated = generateInstallationSecret();
    expect(Buffer.from(generated, 'base64url')).toHaveLength(32);
    expect(generateInstallationSecret()).not.toBe(generated);
    expect(createAnonymiser(Buffer.from(generated, 'base64url'))('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses secrets shorter than 16 bytes with a stable code', () => {
    expect(() => createAnonymiser('short')).toThrow(TelemetrySecretError);
    try {
      createAnonymiser(new Uint8Array(15));
    } catch (error) {
      expect((error as TelemetrySecretError).code).toBe('TELEMETRY_SECRET_INVALID');
      expect((error as Error).message).toContain('generateInstallationSecret');
    }
    expect(() => createAnonymiser(new Uint8Array(16))).not.toThrow();
  });

  it('never lets the raw organisation id reach a flushed batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        // "org-" keeps ids from matching by chance inside hex tokens or UUIDs.
        fc.array(fc.stringMatching(/^org-[a-z0-9]{3,16}$/), { minLength: 1, maxLength: 30 }),
        async (organisations) => {
          const sink = new MemorySink();
          const collector = new TelemetryCollector({ secret: secretA, sink, batchSize: 7, errorReporting: true });
          for (const [i, organisation] of organisations.entries()) {
            collector.record({
              type: (['execution_start', 'execution_end', 'error', 'feature_adoption'] as const)[i % 4]!,
              organisation,
              feature: 'billing.invoice',
              duration: i,
            });
          }
          await collector.flush();
          const flushed = JSON.stringify(sink.batches);
          expect(sink.events).toHaveLength(organisations.length);
          for (const organisation of organisations) expect(flushed).not.toContain(organisation);
          expect(sink.events.map((event) => event.organisation)).toEqual(organisations.map(createAnonymiser(secretA)));
        },
      ),
      { numRuns: 50 },
    );
  });
});
