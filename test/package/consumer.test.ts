/**
 * The package as another project gets it (issue 19), proved from the outside: `npm pack` (which
 * builds dist/ through `prepack`), the tarball installed into a fresh project in a temporary
 * directory, and everything used by the package's name only, never through `src/`:
 *
 * (a) plain `node` ESM programs start a supervised actor as the README shows (and the
 *     marketplace, the ./testing property, a BullMQ node on a private Redis) and exit by themselves;
 * (b) a consumer `.ts` and the README's TypeScript example type-check with `tsc` under
 *     moduleResolution `nodenext` and `bundler`, strict, with zero errors;
 * (c) `npx governor --help` works, and `check --machine` takes a .ts module without tsx or says why not;
 * (d) the tarball holds no test, bench or fixture file, and does hold what the code reads at run time;
 * (e) publint and @arethetypeswrong/cli report nothing.
 *
 * (a) and (c) run on each of NODE_VERSIONS, Node builds installed from the registry
 * (node-builds.ts), side by side (the programs mostly wait). (b) runs once per resolution: what tsc
 * reports is a property of the declaration files, not of the Node that runs tsc, and each run costs
 * 10–30 s. The consumer project's files are in test/package/consumer/.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { cleanEnv, nodeBuild, NODE_VERSIONS } from './node-builds.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONSUMER_FILES = fileURLToPath(new URL('./consumer/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const NAME = manifest.name;

// tsc over the installed dependencies' types, npx and a BullMQ node take 10–60 s each on a busy
// 2-core machine, above the suite's 60 s default; a program that hangs is still ended by run()'s
// own timeout, and fails.
vi.setConfig({ testTimeout: 300_000 });

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (a timeout kills it: a program that does not exit by itself fails). */
function run(file: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeoutMs ?? 240_000, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({ code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0, signal: failure?.signal ?? null, stdout, stderr });
      },
    );
  });
}

const ok = (result: Run, what: string) => expect(result, `${what}\n${result.stderr}\n${result.stdout}`).toMatchObject({ code: 0, signal: null });

/** The README's TypeScript example of the runtime, as it stands in the README. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /### A supervised gen_statem actor\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "### A supervised gen_statem actor"');
  return block;
}

let work: string;
let project: string;
let tarball: string;
let packedFiles: string[];
let redis: RedisHandle;
const nodes = new Map<string, string>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'governor-package-'));
  // Packs as `npm publish` would: `prepack` builds dist/ first.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 300_000 });
  ok(packed, 'npm pack');
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);

  project = join(work, 'consumer');
  cpSync(CONSUMER_FILES, project, { recursive: true });
  writeFileSync(join(project, 'readme-example.ts'), readmeExample());
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  // What a project writing machines installs beside Governor, at the versions this repository uses.
  const beside = ['xstate', 'fast-check'].map((name) => `${name}@${manifest.dependencies[name]}`);
  const tools = ['typescript', '@types/node'].map((name) => `${name}@${manifest.devDependencies[name]}`);
  const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...beside, ...tools], { cwd: project, timeoutMs: 300_000 });
  ok(installed, 'npm install of the tarball');

  for (const version of NODE_VERSIONS) nodes.set(version, await nodeBuild(version));
  redis = await startRedis();
}, 600_000);

afterAll(async () => {
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('(d) the tarball', () => {
  it('holds the built code, its types and source maps, the bin and the schemas', () => {
    for (const path of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map', 'dist/src/redis.js', 'dist/src/marketplace.js', 'dist/src/testing.js', 'dist/src/cli/bin.js', 'bin/governor.js', 'schemas/lifecycle-job.schema.json', 'README.md', 'LICENSE', 'package.json']) {
      expect(packedFiles, path).toContain(path);
    }
  });

  it('holds the Lua scripts the Redis store reads at run time', () => {
    expect(packedFiles).toContain('dist/src/store/lua/commit-n.lua');
  });

  it('holds no test, bench or fixture file, and nothing outside dist/, bin/ and schemas/ but the package files', () => {
    const stray = packedFiles.filter(
      (path) => /(^|\/)(test|tests|__tests__|bench|fixtures?)(\/|$)/.test(path) || /\.(test|spec|bench)\.[cm]?[jt]s/.test(path) || /\.ts$/.test(path.replace(/\.d\.ts$/, '')),
    );
    expect(stray).toEqual([]);
    const outside = packedFiles.filter((path) => !/^(dist\/(src|machines|supervisors)\/|bin\/governor\.js$|schemas\/|README\.md$|LICENSE$|package\.json$)/.test(path));
    expect(outside).toEqual([]);
  });
});

describe('(e) package linters', () => {
  it('publint finds nothing in the installed package', async () => {
    const linted = await run(process.execPath, [join(ROOT, 'node_modules/publint/src/cli.js'), '--strict', '--pack', 'false', join(project, 'node_modules', NAME)], { cwd: project });
    ok(linted, 'publint');
    expect(linted.stdout).toContain('All good!');
  });

  it('@arethetypeswrong/cli finds nothing for an ESM-only package (node16 from ESM, bundler)', async () => {
    // The esm-only profile: Governor is ESM (`"type": "module"`) and never claimed CommonJS or
    // TypeScript's pre-exports `node10` resolution; every other resolution must be clean.
    const checked = await run(process.execPath, [join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'json'], { cwd: work });
    ok(checked, 'attw');
    // `problems` lists the ignored ones too, by kind: none may concern the resolutions that count.
    const { problems } = JSON.parse(checked.stdout) as { problems: Record<string, { kind: string; entrypoint: string; resolutionKind?: string }[]> };
    const counted = Object.values(problems)
      .flat()
      .filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(counted).toEqual([]);
  });
});

describe.concurrent.each(['nodenext', 'bundler'])('(b) under moduleResolution %s', (resolution) => {
  it('the consumer .ts and the README example type-check with zero errors (strict, no skipLibCheck)', async () => {
    const result = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', `tsconfig.${resolution}.json`], { cwd: project });
    expect(result.stdout, 'tsc errors').toBe('');
    ok(result, `tsc -p tsconfig.${resolution}.json`);
  });
});

describe.concurrent.each(NODE_VERSIONS)('on Node %s', (version) => {
  const node = () => nodes.get(version)!;
  /** PATH with this Node first, so `npx` and the bin's `#!/usr/bin/env node` run on it. */
  const onThisNode = (extra: Record<string, string> = {}) => cleanEnv({ PATH: `${dirname(node())}${delimiter}${process.env.PATH ?? ''}`, ...extra });

  it('is the Node it says', async () => {
    const reported = await run('node', ['--version'], { cwd: project, env: onThisNode() });
    expect(reported.stdout.trim()).toBe(`v${version}`);
  });

  it('(a) runs the README supervised actor from plain node ESM, and the program exits by itself', async () => {
    const result = await run(node(), ['app.mjs'], { cwd: project, timeoutMs: 120_000 });
    ok(result, 'node app.mjs');
    expect(JSON.parse(result.stdout)).toEqual({ count: 1, door: 'open' });
    expect(result.stderr).toBe('');
  });

  it('(a) runs the marketplace and a ./testing machine property by the package name', async () => {
    const result = await run(node(), ['library.mjs'], { cwd: project, timeoutMs: 120_000 });
    ok(result, 'node library.mjs');
    expect(JSON.parse(result.stdout)).toEqual({ version: manifest.version, outcome: 'completed', receipts: true, propertyFailed: true, minimal: 4 });
  });

  // The program ends by itself, but about 10 s after stop(): the relay's backoff sleeps are not
  // cancelled by a shutdown (issue 19's one retry policy, cancellable, is to remove that).
  it('(a) runs a BullMQ node from ./redis on a private Redis (the shipped Lua scripts commit)', async () => {
    const result = await run(node(), ['redis.mjs'], { cwd: project, timeoutMs: 120_000, env: cleanEnv({ REDIS_URL: redis.url, GOVERNOR_PREFIX: `${redis.prefix}:pkg:${version}` }) });
    ok(result, 'node redis.mjs');
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ first: 1, second: 2 });
  });

  it('(c) npx governor --help prints the commands', async () => {
    const result = await run('npx', ['--no-install', 'governor', '--help'], { cwd: project, env: onThisNode() });
    ok(result, 'npx governor --help');
    expect(result.stdout).toContain('Usage: governor');
    for (const command of ['start', 'enqueue', 'check', 'repl']) expect(result.stdout).toContain(`  ${command}`);
    expect(result.stderr).toBe('');
  });

  // tsx is no dependency of the package, and this project has none: Node's own type stripping
  // (22.18 and later) loads the module, and Node 20 gets told what to install.
  it('(c) npx governor check --machine loads a .ts module without tsx where Node strips types, else says to install tsx', async () => {
    const result = await run('npx', ['--no-install', 'governor', 'check', '--machine', 'check-machine.ts', '--runs', '20', '--seed', '1'], { cwd: project, env: onThisNode() });
    if (Number(version.split('.')[0]) >= 22) {
      ok(result, 'governor check --machine check-machine.ts');
      expect(result.stdout).toContain('ok: 20 runs passed');
    } else {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('is TypeScript, which Node v20.19.0 cannot load by itself: install tsx in your project');
    }
  });
});
