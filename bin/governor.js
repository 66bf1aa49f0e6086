#!/usr/bin/env node
/* global process, URL */
// The `governor` command: the built JavaScript in dist/ (`npm run build`, run by `npm pack` and
// `npm publish`). In a checkout without a build, `npm run governor -- …` runs the sources.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('governor: dist/ is missing: run `npm run build` first, or `npm run governor -- <args>` to run the sources\n');
  process.exit(2);
}
await import(entry.href);
