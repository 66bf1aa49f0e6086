import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ── Layer boundaries ─────────────────────────────────────────────────────────────────────────
// The allowed directions are the README's folder table; each folder lists what it must never
// import. A relative import is matched by the folder it reaches (`../cli/`, `../../src/cli/`), so
// one pattern covers every depth. `no-restricted-imports` takes one option set per file (a later
// config object replaces, not merges, an earlier one), so each folder's set is built whole here.

/** A folder of this repository, as any relative import path that reaches into it. */
const folder = (name) => `(^|/)${name}/`;
/** The package entry points: wiring, never a dependency of a layer. */
const ENTRY_POINTS = '^(\\.\\./)+(src/)?(index|redis|marketplace|testing|create-node)\\.ts$';

/** Timers live in the clock module (src/runtime/clock.ts) and the retry policy built on it. */
const TIMER_MODULES = ['node:timers', 'node:timers/promises', 'timers', 'timers/promises'].map((name) => ({
  name,
  message: 'timers go through the runtime clock (src/runtime/clock.ts) or the retry policy (src/runtime/retry.ts)',
}));

const IO_PACKAGES = ['ioredis', 'bullmq', 'bullmq-otel', 'node:http', 'node:https', 'node:net', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:dgram', 'node:tls'];

/**
 * `no-restricted-imports` for one layer: the folders it must not reach, with why, and the
 * packages it must not load.
 */
function boundary(layer, why, { folders = [], regexes = [], packages = [] }) {
  return [
    'error',
    {
      paths: [...packages.map((name) => ({ name, message: `${layer} must not load ${name}: ${why}` })), ...TIMER_MODULES],
      patterns: [
        ...folders.map((name) => ({ regex: folder(name), message: `${layer} must not import ${name}/: ${why} (see the folder table in README.md)` })),
        ...regexes.map(({ regex, what }) => ({ regex, message: `${layer} must not import ${what}: ${why} (see the folder table in README.md)` })),
      ],
    },
  ];
}

const ABOVE_THE_KERNEL = ['transport', 'store', 'cli', 'marketplace', 'observability', 'deployment', 'machines', 'supervisors'];
const entryPoints = { regex: ENTRY_POINTS, what: 'a package entry point' };

const layers = [
  {
    files: ['src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/runtime (the kernel)', 'it is the bottom layer and knows no transport, store or application', {
        folders: ABOVE_THE_KERNEL,
        regexes: [entryPoints],
        packages: IO_PACKAGES,
      }),
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/store', 'a store stands on the kernel only', {
        folders: ['transport', 'cli', 'marketplace', 'observability', 'deployment', 'machines', 'supervisors'],
        regexes: [entryPoints],
      }),
    },
  },
  {
    files: ['src/transport/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/transport', 'a transport carries envelopes for any application', {
        folders: ['cli', 'observability', 'deployment', 'machines', 'supervisors'],
        // The canonical JSON encoding (idempotency digests) is the one domain file it shares.
        regexes: [entryPoints, { regex: '(^|/)marketplace/(?!canonical-json\\.ts$)', what: 'marketplace/ (other than canonical-json.ts)' }],
      }),
    },
  },
  {
    files: ['src/marketplace/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/marketplace', 'the domain library is pure (no actors, no I/O)', {
        folders: ['runtime', 'transport', 'store', 'cli', 'observability', 'deployment', 'machines', 'supervisors'],
        regexes: [entryPoints],
        packages: [...IO_PACKAGES, 'xstate', 'pino', 'prom-client'],
      }),
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('machines/', 'machines are pure XState definitions on the kernel and the domain', {
        folders: ['transport', 'store', 'cli', 'observability', 'deployment', 'supervisors'],
        regexes: [entryPoints],
        packages: IO_PACKAGES,
      }),
    },
  },
  {
    files: ['supervisors/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('supervisors/', 'the supervision tree runs on any transport', {
        folders: ['transport', 'cli', 'observability', 'deployment'],
        regexes: [entryPoints],
        packages: IO_PACKAGES,
      }),
    },
  },
  {
    files: ['src/observability/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/observability', 'it observes the layers below and is wired by the CLI', {
        folders: ['transport', 'store', 'cli', 'deployment', 'supervisors'],
        regexes: [entryPoints],
      }),
    },
  },
  {
    files: ['src/deployment/**/*.ts'],
    rules: {
      'no-restricted-imports': boundary('src/deployment', 'it plans a deployment and runs nothing', {
        folders: ['runtime', 'transport', 'store', 'machines', 'supervisors'],
        regexes: [entryPoints, { regex: '(^|/)cli/(?!node-environment\\.ts$)', what: 'cli/ (other than node-environment.ts)' }],
      }),
    },
  },
  {
    // The CLI and the entry points may import every layer, but not bare timers either.
    files: ['src/cli/**/*.ts', 'src/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: TIMER_MODULES }] },
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'coverage/', '.tmp/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layers,
  {
    // No bare timers in the sources: time is injected (a simulated clock in tests), and a sleep
    // nobody can cancel keeps a stopped process alive. The clock module is the one place that
    // holds the host's timers.
    files: ['src/**/*.ts', 'machines/**/*.ts', 'supervisors/**/*.ts'],
    ignores: ['src/runtime/clock.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'].map((name) => ({
          name,
          message: `use the runtime clock (node.clock / systemClock from src/runtime/clock.ts) or the retry policy (src/runtime/retry.ts), not a bare ${name}`,
        })),
      ],
      'no-restricted-properties': [
        'error',
        ...['setTimeout', 'setInterval'].map((property) => ({
          object: 'globalThis',
          property,
          message: 'use the runtime clock (src/runtime/clock.ts), not the host timer',
        })),
      ],
    },
  },
);
