import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderManifests } from '../../src/marketplace/deployment/index.ts';
import { DEFAULT_METRICS_PORT } from '../../src/marketplace/telemetry/index.ts';

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

describe('the Dockerfile', () => {
  it('is multi-stage, and the runtime stage copies the build output instead of building', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.some((line) => /^COPY --from=build .*dist/.test(line))).toBe(true);
    expect(runtime.some((line) => /npm (ci|install)|npm run build/.test(line))).toBe(false);
  });

  it('installs production dependencies with npm ci --omit=dev from the lockfile', () => {
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(runtime.some((line) => /^COPY --from=deps .*node_modules/.test(line))).toBe(true);
  });

  it('runs as the same non-root uid the manifests require', () => {
    const users = runtime.filter((line) => line.startsWith('USER '));
    expect(users).toEqual(['USER node']); // uid 1000 in the official Node images
    const pod = renderManifests({ provider: 'aws', tier: 'professional' }).deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
  });

  it('starts the assumed compiled CLI entry, exposes the metrics port and says what it assumes', () => {
    expect(runtime.find((line) => line.startsWith('ENTRYPOINT'))).toContain('"dist/src/cli/main.js"');
    expect(runtime).toContain('CMD ["start"]');
    expect(runtime).toContain(`EXPOSE ${DEFAULT_METRICS_PORT}`);
    expect(dockerfile).toMatch(/ASSUMPTION[\s\S]*npm run build[\s\S]*dist\/src\/cli\/main\.js/);
  });
});

describe('the .dockerignore', () => {
  it('allow-lists the build inputs, so secrets and node_modules never enter the context', () => {
    const lines = dockerignore.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines.filter((line) => line.startsWith('!'))).toEqual(
      expect.arrayContaining(['!package.json', '!package-lock.json', '!tsconfig.json', '!src/']),
    );
    expect(lines).not.toContain('!node_modules/');
    expect(lines.some((line) => /^!.*\.env/.test(line))).toBe(false);
  });
});
