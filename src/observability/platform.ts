import { createRequire } from 'node:module';

// Read by the package's own name (its exports map lists `./package.json`), so the same line finds it
// from the sources and from the built `dist/` a level deeper; a JSON import would also make tsc copy
// package.json into dist/ and, on Node 20, print an ExperimentalWarning in every command.
const packageJson = createRequire(import.meta.url)('@governorjs/governor/package.json') as { version: string };

/** Where an event came from: runtime and product versions, nothing about the machine or its users. */
export interface Platform {
  /** Node.js version, e.g. `v20.19.0`. */
  readonly node: string;
  /** Governor version from `package.json`, e.g. `0.1.0`. */
  readonly governor: string;
}

/** The Governor version this code ships as (from `package.json`). */
export const GOVERNOR_VERSION: string = packageJson.version;

/** The platform of this process. */
export function currentPlatform(): Platform {
  return { node: process.version, governor: GOVERNOR_VERSION };
}
