import { rcompare, satisfies, validRange } from 'semver';
import { getOwn } from './ids.ts';
import type { TemplateRegistry } from './templates.ts';

/**
 * Dependency resolution over semver ranges: one version per package, every range satisfied, the
 * highest satisfying versions preferred.
 *
 * A depth-first search with backtracking: packages are resolved in the order they are first
 * required; for each, the versions satisfying every range known so far are tried highest first,
 * and a choice that breaks a range met later (or closes a cycle) is undone and the next version
 * tried. Dependency cycles are errors. When nothing works, the error of the most preferred branch
 * is reported with the path that leads to it.
 */

/** One version of a package and what it requires. */
export interface PackageVersionInfo {
  readonly version: string;
  /** Package id → semver range. */
  readonly dependencies: Readonly<Record<string, string>>;
}

/** Every available version of every package. */
export type PackageIndex = Readonly<Record<string, readonly PackageVersionInfo[]>>;

/** Options of {@link resolveDependencies}. */
export interface ResolveOptions {
  /** Let ranges match pre-releases, as `semver`'s option. @default false */
  readonly includePrerelease?: boolean;
  /** Candidate versions tried before giving up. @default 10_000 */
  readonly maxSteps?: number;
}

/** Why resolution failed. `path` runs from `root` through `id@version` steps. */
export type ResolutionError =
  | { readonly kind: 'cycle'; readonly path: readonly string[]; readonly message: string }
  | {
      readonly kind: 'unsatisfiable';
      readonly package: string;
      readonly path: readonly string[];
      /** Every range on the package, with the path that imposed it. */
      readonly constraints: readonly { readonly range: string; readonly requiredBy: readonly string[] }[];
      readonly available: readonly string[];
      readonly message: string;
    }
  | { readonly kind: 'not_found'; readonly package: string; readonly path: readonly string[]; readonly message: string }
  | { readonly kind: 'invalid_range'; readonly range: string; readonly path: readonly string[]; readonly message: string }
  | { readonly kind: 'too_complex'; readonly path: readonly string[]; readonly message: string };

/** Outcome of {@link resolveDependencies}. */
export type Resolution =
  | { readonly ok: true; readonly resolved: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: ResolutionError };

interface Constraint {
  readonly range: string;
  /** Path of the requirer, e.g. ['root', 'a@1.0.0']. */
  readonly requiredBy: readonly string[];
}

interface State {
  readonly chosen: ReadonlyMap<string, { readonly info: PackageVersionInfo; readonly path: readonly string[] }>;
  readonly constraints: ReadonlyMap<string, readonly Constraint[]>;
  /** Packages in the order they were first required. */
  readonly order: readonly string[];
}

/**
 * Resolves `requirements` (package id → range) against `index`. Never throws.
 * @example
 * resolveDependencies(index, { 'etl-starter': '^1.2.0' })
 * // { ok: true, resolved: { 'etl-starter': '1.4.0', 'csv-reader': '2.1.3' } }
 */
export function resolveDependencies(index: PackageIndex, requirements: Readonly<Record<string, string>>, options: ResolveOptions = {}): Resolution {
  const semverOptions = { includePrerelease: options.includePrerelease ?? false };
  const budget = { steps: options.maxSteps ?? 10_000 };
  const root = ['root'];
  const constraints = new Map<string, Constraint[]>();
  const order: string[] = [];
  for (const [id, range] of Object.entries(requirements)) {
    if (validRange(range, semverOptions) === null) return invalidRange(range, root, id);
    constraints.set(id, [{ range, requiredBy: root }]);
    order.push(id);
  }

  const solve = (state: State): Resolution => {
    const id = state.order.find((p) => !state.chosen.has(p));
    if (id === undefined) {
      return { ok: true, resolved: Object.fromEntries([...state.chosen].map(([p, c]) => [p, c.info.version])) };
    }
    const onId = state.constraints.get(id) ?? [];
    const path = [...(onId[0]?.requiredBy ?? root), id];
    const versions = getOwn(index, id);
    if (!versions || versions.length === 0) {
      return fail({ kind: 'not_found', package: id, path, message: `${path.join(' → ')}: no package "${id}" is published` });
    }
    const candidates = versions
      .filter((v) => onId.every((c) => satisfies(v.version, c.range, semverOptions)))
      .sort((a, b) => rcompare(a.version, b.version));
    // Named by the latest requirement: the one that made the package unsatisfiable.
    if (candidates.length === 0) return unsatisfiable(id, [...(onId.at(-1)?.requiredBy ?? root), id], onId, versions);

    let firstFailure: Resolution | undefined;
    for (const info of candidates) {
      budget.steps -= 1;
      if (budget.steps < 0) {
        return fail({ kind: 'too_complex', path, message: `gave up after ${options.maxSteps ?? 10_000} tries: pin some versions` });
      }
      const attempt = tryChoose(state, id, info, path.slice(0, -1), index, semverOptions);
      const result = 'error' in attempt ? attempt.error : solve(attempt.state);
      if (result.ok) return result;
      // Out of budget: stop, and report the most preferred real failure seen, if any.
      if (result.error.kind === 'too_complex') return firstFailure ?? result;
      firstFailure ??= result;
    }
    return firstFailure ?? unsatisfiable(id, path, onId, versions);
  };

  return solve({ chosen: new Map(), constraints, order });
}

function tryChoose(
  state: State,
  id: string,
  info: PackageVersionInfo,
  requirerPath: readonly string[],
  index: PackageIndex,
  semverOptions: { includePrerelease: boolean },
): { state: State } | { error: Resolution } {
  const label = `${id}@${info.version}`;
  const here = [...requirerPath, label];
  const chosen = new Map(state.chosen).set(id, { info, path: here });
  const constraints = new Map(state.constraints);
  const order = [...state.order];
  for (const [dependency, range] of Object.entries(info.dependencies)) {
    if (validRange(range, semverOptions) === null) return { error: invalidRange(range, here, dependency) };
    const cycle = dependency === id ? [label, label] : cyclePath(chosen, dependency, id);
    if (cycle) {
      const shown = dependency === id ? cycle : [label, ...cycle];
      return { error: fail({ kind: 'cycle', path: shown, message: `dependency cycle: ${shown.join(' → ')}` }) };
    }
    const list = [...(constraints.get(dependency) ?? []), { range, requiredBy: here }];
    constraints.set(dependency, list);
    const already = chosen.get(dependency);
    if (already && !satisfies(already.info.version, range, semverOptions)) {
      return { error: unsatisfiable(dependency, [...here, dependency], list, getOwn(index, dependency) ?? []) };
    }
    if (!order.includes(dependency)) order.push(dependency);
  }
  return { state: { chosen, constraints, order } };
}

/** A path `from → … → to` over chosen packages' dependencies, labelled `id@version`, if any. */
function cyclePath(
  chosen: ReadonlyMap<string, { readonly info: PackageVersionInfo }>,
  from: string,
  to: string,
): string[] | undefined {
  const seen = new Set<string>();
  const walk = (node: string): string[] | undefined => {
    const entry = chosen.get(node);
    if (!entry || seen.has(node)) return undefined;
    seen.add(node);
    const label = `${node}@${entry.info.version}`;
    if (node === to) return [label];
    for (const next of Object.keys(entry.info.dependencies)) {
      const rest = walk(next);
      if (rest) return [label, ...rest];
    }
    return undefined;
  };
  return walk(from);
}

function unsatisfiable(id: string, path: readonly string[], constraints: readonly Constraint[], versions: readonly PackageVersionInfo[]): Resolution {
  const available = versions.map((v) => v.version).sort(rcompare);
  const wanted = constraints.map((c) => `${c.range} (required by ${c.requiredBy.join(' → ')})`).join(' and ');
  return fail({
    kind: 'unsatisfiable',
    package: id,
    path,
    constraints: constraints.map((c) => ({ range: c.range, requiredBy: c.requiredBy })),
    available,
    message: `no version of "${id}" satisfies ${wanted}; available: ${available.join(', ') || 'none'}`,
  });
}

function invalidRange(range: string, path: readonly string[], dependency: string): Resolution {
  return fail({ kind: 'invalid_range', range, path: [...path, dependency], message: `${[...path, dependency].join(' → ')}: "${range}" is not a semver range` });
}

function fail(error: ResolutionError): Resolution {
  return { ok: false, error };
}

/** The package index of a template registry: published versions only. */
export function packageIndexFromRegistry(registry: TemplateRegistry): PackageIndex {
  return Object.fromEntries(
    Object.values(registry.templates).map((t) => [
      t.id,
      t.versions.filter((v) => !v.unpublished).map((v) => ({ version: v.version, dependencies: v.dependencies })),
    ]),
  );
}
