import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderManifests } from '../../src/deployment/index.ts';
import { DEFAULT_METRICS_PORT } from '../../src/observability/index.ts';

const IMAGE = 'registry.example.com/governor:1.2.3';

// No Docker daemon in CI: these read the files and hold them to what the manifests rely on.
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const dockerignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.reduce<string[][]>((all, line) => {
  if (line.startsWith('FROM ')) all.push([]);
  all[all.length - 1]?.push(line);
  return all;
}, []);
const runtime = stages[stages.length - 1]!;
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  bin: { governor: string };
  dependencies: Record<string, string>;
};
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The sources of what the image runs: bin/, and src/, machines/, supervisors/ that dist/ is built from (tests excluded, as .dockerignore does). */
function runtimeSources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return /\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
    });
  return ['bin', 'src', 'machines', 'supervisors'].flatMap((dir) => walk(join(root, dir)));
}

describe('the Dockerfile', () => {
  it('is multi-stage: dist/ built in its own stage, production dependencies in theirs, nothing installed or built at runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const build = stages.find((stage) => stage.includes('RUN npm run build'));
    expect(build, 'a stage running npm run build').toBeDefined();
    expect(build).toContain('RUN npm ci --no-audit --no-fund');
    expect(runtime.some((line) => /^COPY --from=deps .*node_modules/.test(line))).toBe(true);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
    expect(runtime.some((line) => /npm (ci|install)|npm run build/.test(line))).toBe(false);
  });

  it('runs on Node 24, the current LTS', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
  });

  it('installs production dependencies with npm ci --omit=dev from the lockfile', () => {
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    const deps = stages.find((stage) => stage.some((line) => /npm ci --omit=dev/.test(line)))!;
    expect(deps).toContain('COPY package.json package-lock.json ./');
  });

  it('copies only what exists in the repository, and everything the node runs from', () => {
    const copied = runtime
      .filter((line) => line.startsWith('COPY ') && !line.startsWith('COPY --from='))
      .flatMap((line) => line.slice('COPY '.length).split(/\s+/).slice(0, -1));
    for (const source of copied) expect(existsSync(new URL(`../../${source}`, import.meta.url)), `COPY ${source}`).toBe(true);
    expect(copied).toEqual(expect.arrayContaining(['package.json', packageJson.bin.governor]));
    // The build stage's inputs, likewise.
    const build = stages.find((stage) => stage.includes('RUN npm run build'))!;
    const built = build.filter((line) => line.startsWith('COPY ')).flatMap((line) => line.slice('COPY '.length).split(/\s+/).slice(0, -1));
    for (const source of built) expect(existsSync(new URL(`../../${source}`, import.meta.url)), `COPY ${source}`).toBe(true);
    expect(built).toEqual(expect.arrayContaining(['tsconfig.build.json', 'scripts', 'src', 'machines', 'supervisors']));
  });

  it('runs as the same non-root uid the manifests require', () => {
    const users = runtime.filter((line) => line.startsWith('USER '));
    expect(users).toEqual(['USER node']); // uid 1000 in the official Node images
    const pod = renderManifests({ image: IMAGE, provider: 'aws', tier: 'professional' }).deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
  });

  it('starts the package bin under tini, which runs the built dist/, and exposes the metrics port', () => {
    const entrypoint = JSON.parse(runtime.find((line) => line.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
    expect(entrypoint.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    const script = entrypoint[3]!;
    expect(script).toBe(packageJson.bin.governor);
    const bin = readFileSync(new URL(`../../${script}`, import.meta.url), 'utf8');
    expect(bin).toContain("'../dist/src/cli/bin.js'");
    expect(bin).not.toContain('tsx');
    expect(runtime).toContain('CMD ["start"]');
    expect(runtime).toContain(`EXPOSE ${DEFAULT_METRICS_PORT}`);
    expect(runtime.find((line) => line.startsWith('ENV '))).toContain(`GOVERNOR_METRICS_PORT=${DEFAULT_METRICS_PORT}`);
  });

  it('has every package the CLI imports among the production dependencies (npm ci --omit=dev leaves the rest out)', () => {
    const production = new Set(Object.keys(packageJson.dependencies));
    // Loaded only when present, with a clear error otherwise: `check --machine` uses the project's
    // own tsx for a .ts module (src/cli/check/machine.ts).
    const optional = new Set(['tsx']);
    const missing = new Set<string>();
    for (const file of runtimeSources()) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|import\('([^']+)'\)/gm)) {
        if (match[1]) continue; // type-only: erased
        const specifier = match[2] ?? match[3]!;
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!production.has(name) && !optional.has(name)) missing.add(`${name} (${file.replace(root, '')})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});

describe('the .dockerignore', () => {
  it('allow-lists the build inputs, so secrets and node_modules never enter the context', () => {
    const lines = dockerignore.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines.filter((line) => line.startsWith('!'))).toEqual(
      expect.arrayContaining(['!package.json', '!package-lock.json', '!tsconfig.json', '!tsconfig.build.json', '!scripts/', '!src/']),
    );
    expect(lines).not.toContain('!node_modules/');
    expect(lines.some((line) => /^!.*\.env/.test(line))).toBe(false);
  });
});
