/* global process, console, URL */
// `npm run build`: plain tsc emit into dist/ (tsconfig.build.json), plus the files the built code
// reads at run time that tsc does not copy (the Redis Lua scripts, the observer's page). dist/ is emptied first so a
// file deleted from src/ never lingers in a package.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = new URL('../dist/', import.meta.url);

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) {
  console.error('build: tsc failed (above); dist/ is incomplete');
  process.exit(built.status ?? 1);
}
cpSync(new URL('../src/store/lua/', import.meta.url), new URL('src/store/lua/', dist), { recursive: true });
// The observer's page (plain HTML, CSS and an ES module, served as they are: no bundling).
cpSync(new URL('../src/observer/assets/', import.meta.url), new URL('src/observer/assets/', dist), { recursive: true });
