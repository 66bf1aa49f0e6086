import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { satisfies } from 'semver';
import { packageIndexFromRegistry, resolveDependencies, type PackageIndex } from '../../src/marketplace/dependency-resolution.ts';
import { emptyTemplateRegistry, publishTemplate, unpublishTemplateVersion, type TemplateRegistry } from '../../src/marketplace/templates.ts';
import { sha256Hex } from '../../src/marketplace/canonical-json.ts';

const v = (version: string, dependencies: Record<string, string> = {}) => ({ version, dependencies });

describe('resolution', () => {
  const index: PackageIndex = {
    app: [v('1.0.0', { lib: '^1.0.0', util: '^2.0.0' }), v('2.0.0', { lib: '^2.0.0', util: '^2.0.0' })],
    lib: [v('1.0.0', { util: '^2.0.0' }), v('1.5.0', { util: '^2.1.0' }), v('2.0.0', { util: '^3.0.0' })],
    util: [v('2.0.0'), v('2.1.0'), v('2.3.0'), v('3.0.0'), v('2.4.0-beta.1')],
  };

  it('prefers the highest satisfying versions', () => {
    expect(resolveDependencies(index, { app: '^1.0.0' })).toEqual({ ok: true, resolved: { app: '1.0.0', lib: '1.5.0', util: '2.3.0' } });
  });

  it('backtracks when the highest choice conflicts with a range met later', () => {
    // app@2 needs lib@2 which needs util@3, but app@2 also needs util@2: only app@1 works
    expect(resolveDependencies(index, { app: '*' })).toEqual({ ok: true, resolved: { app: '1.0.0', lib: '1.5.0', util: '2.3.0' } });
  });

  it('considers pre-releases only when asked', () => {
    const pre: PackageIndex = { util: index.util! };
    expect(resolveDependencies(pre, { util: '^2.0.0' })).toMatchObject({ resolved: { util: '2.3.0' } });
    expect(resolveDependencies(pre, { util: '^2.0.0' }, { includePrerelease: true })).toMatchObject({ resolved: { util: '2.4.0-beta.1' } });
  });

  it('names the path and every constraint of an unsatisfiable range', () => {
    const result = resolveDependencies(index, { app: '^2.0.0' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ kind: 'unsatisfiable', package: 'util', path: ['root', 'app@2.0.0', 'lib@2.0.0', 'util'] });
    expect(result.error.message).toContain('^2.0.0 (required by root → app@2.0.0)');
    expect(result.error.message).toContain('^3.0.0 (required by root → app@2.0.0 → lib@2.0.0)');
  });

  it('reports missing packages and bad ranges with their path', () => {
    expect(resolveDependencies({ a: [v('1.0.0', { ghost: '^1.0.0' })] }, { a: '1.0.0' })).toMatchObject({
      ok: false,
      error: { kind: 'not_found', package: 'ghost', path: ['root', 'a@1.0.0', 'ghost'] },
    });
    expect(resolveDependencies({ a: [v('1.0.0', { b: 'latest!' })], b: [v('1.0.0')] }, { a: '*' })).toMatchObject({
      ok: false,
      error: { kind: 'invalid_range', range: 'latest!', path: ['root', 'a@1.0.0', 'b'] },
    });
    expect(resolveDependencies({}, { a: '>>1' })).toMatchObject({ ok: false, error: { kind: 'invalid_range' } });
    expect(resolveDependencies({}, { constructor: '*' })).toMatchObject({ ok: false, error: { kind: 'not_found' } });
  });

  it('detects cycles and names them', () => {
    const cyclic: PackageIndex = {
      a: [v('1.0.0', { b: '^1.0.0' })],
      b: [v('1.2.0', { c: '*' })],
      c: [v('0.1.0', { a: '>=1.0.0' })],
    };
    expect(resolveDependencies(cyclic, { a: '*' })).toMatchObject({
      ok: false,
      error: { kind: 'cycle', path: ['c@0.1.0', 'a@1.0.0', 'b@1.2.0', 'c@0.1.0'] },
    });
    expect(resolveDependencies({ s: [v('1.0.0', { s: '*' })] }, { s: '*' })).toMatchObject({ ok: false, error: { kind: 'cycle' } });
  });

  it('avoids a cycle when an older version does not have it', () => {
    const index2: PackageIndex = { a: [v('1.0.0', { b: '*' })], b: [v('2.0.0', { a: '*' }), v('1.0.0')] };
    expect(resolveDependencies(index2, { a: '*' })).toEqual({ ok: true, resolved: { a: '1.0.0', b: '1.0.0' } });
  });

  it('gives up on combinatorial explosions with a clear error', () => {
    const wide: Record<string, Array<ReturnType<typeof v>>> = {};
    for (let p = 0; p < 12; p += 1) {
      wide[`p${p}`] = Array.from({ length: 5 }, (_, i) => v(`1.${i}.0`, p < 11 ? { [`p${p + 1}`]: '*' } : { never: '^9.0.0' }));
    }
    wide.never = [v('1.0.0')];
    const result = resolveDependencies(wide, { p0: '*' }, { maxSteps: 500 });
    expect(result.ok).toBe(false);
  });

  it('resolves over the template registry, ignoring unpublished versions', () => {
    let registry: TemplateRegistry = emptyTemplateRegistry();
    const publish = (id: string, version: string, dependencies: Record<string, string> = {}) => {
      const result = publishTemplate(
        registry,
        { id, name: id, description: '', author: 'a', tags: [], version, dependencies, contentDigest: sha256Hex(id + version) },
        0,
      );
      if (!result.ok) throw new Error(result.error.message);
      registry = result.registry;
    };
    publish('reader', '1.0.0');
    publish('reader', '1.1.0');
    publish('etl', '2.0.0', { reader: '^1.0.0' });
    const unpublished = unpublishTemplateVersion(registry, 'reader', '1.1.0');
    if (!unpublished.ok) throw new Error('unpublish failed');
    expect(resolveDependencies(packageIndexFromRegistry(registry), { etl: '^2' })).toMatchObject({ resolved: { reader: '1.1.0' } });
    expect(resolveDependencies(packageIndexFromRegistry(unpublished.registry), { etl: '^2' })).toMatchObject({ resolved: { reader: '1.0.0' } });
  });
});

/** A random acyclic index: package i only depends on packages j > i. */
const acyclicIndex = fc
  .integer({ min: 1, max: 5 })
  .chain((packages) =>
    fc.tuple(
      fc.constant(packages),
      fc.array(
        fc.array(
          fc.record({
            minor: fc.nat(3),
            deps: fc.array(fc.tuple(fc.nat(packages), fc.constantFrom('*', '^1.0.0', '^1.2.0', '~1.1.0', '>=1.1.0 <1.3.0', '1.3.0', '^2.0.0')), { maxLength: 2 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        { minLength: packages, maxLength: packages },
      ),
      fc.constantFrom('*', '^1.0.0', '>=1.1.0', '1.0.0 || 1.3.0'),
    ),
  )
  .map(([packages, versions, rootRange]) => {
    const index: Record<string, Array<ReturnType<typeof v>>> = {};
    versions.forEach((list, i) => {
      const seen = new Set<number>();
      index[`p${i}`] = list
        .filter((entry) => !seen.has(entry.minor) && seen.add(entry.minor))
        .map((entry) => v(`1.${entry.minor}.0`, Object.fromEntries(entry.deps.filter(([j]) => j > i && j < packages).map(([j, r]) => [`p${j}`, r]))));
    });
    return { index: index as PackageIndex, rootRange };
  });

/** Every complete assignment, by brute force, to check that "no solution" is true. */
function bruteForceHasSolution(index: PackageIndex, root: Record<string, string>): boolean {
  const ids = Object.keys(index);
  const choose = (i: number, picked: Record<string, string | undefined>): boolean => {
    if (i === ids.length) {
      const required = (id: string, range: string) => picked[id] !== undefined && satisfies(picked[id]!, range);
      if (!Object.entries(root).every(([id, range]) => required(id, range))) return false;
      return ids.every((id) => {
        const version = picked[id];
        if (version === undefined) return true;
        const info = index[id]!.find((x) => x.version === version)!;
        return Object.entries(info.dependencies).every(([d, r]) => required(d, r));
      });
    }
    const id = ids[i]!;
    return [undefined, ...index[id]!.map((x) => x.version)].some((version) => choose(i + 1, { ...picked, [id]: version }));
  };
  return choose(0, {});
}

describe('properties', () => {
  it('every resolution satisfies all ranges; a failure means no solution exists', () => {
    fc.assert(
      fc.property(acyclicIndex, ({ index, rootRange }) => {
        const root = { p0: rootRange };
        const result = resolveDependencies(index, root);
        if (!result.ok) {
          expect(['unsatisfiable', 'not_found']).toContain(result.error.kind);
          expect(result.error.path[0]).toBe('root');
          expect(bruteForceHasSolution(index, root)).toBe(false);
          return;
        }
        const { resolved } = result;
        for (const [id, range] of Object.entries(root)) expect(satisfies(resolved[id]!, range)).toBe(true);
        for (const [id, version] of Object.entries(resolved)) {
          const info = index[id]!.find((x) => x.version === version);
          expect(info).toBeDefined();
          for (const [dependency, range] of Object.entries(info!.dependencies)) {
            expect(resolved[dependency], `${id}@${version} needs ${dependency}`).toBeDefined();
            expect(satisfies(resolved[dependency]!, range)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with one package, the highest satisfying version is chosen', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(20), { minLength: 1, maxLength: 8 }), fc.nat(20), (minors, floor) => {
        const index: PackageIndex = { only: minors.map((m) => v(`1.${m}.0`)) };
        const result = resolveDependencies(index, { only: `>=1.${floor}.0` });
        const best = Math.max(...minors);
        if (best >= floor) expect(result).toEqual({ ok: true, resolved: { only: `1.${best}.0` } });
        else expect(result).toMatchObject({ ok: false, error: { kind: 'unsatisfiable' } });
      }),
    );
  });

  it('a generated cycle is always detected and its path closes on itself', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(5),
        fc.integer({ min: 0, max: 4 }),
        (length, versionsEach, entry, extras) => {
          const index: Record<string, Array<ReturnType<typeof v>>> = {};
          for (let i = 0; i < length; i += 1) {
            const next = `c${(i + 1) % length}`;
            index[`c${i}`] = Array.from({ length: versionsEach }, (_, k) =>
              v(`1.${k}.0`, { [next]: '^1.0.0', ...(i === 0 && extras > 0 ? { x0: '*' } : {}) }),
            );
          }
          // acyclic extras hanging off the cycle
          for (let x = 0; x < extras; x += 1) index[`x${x}`] = [v('1.0.0', x + 1 < extras ? { [`x${x + 1}`]: '*' } : {})];
          const start = `c${entry % length}`;
          const result = resolveDependencies(index, { [start]: '*' });
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.error.kind).toBe('cycle');
          const path = result.error.path;
          expect(path[0]).toBe(path.at(-1));
          expect(new Set(path.map((p) => p.split('@')[0])).size).toBe(length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
