// Mutation testing of the kernel (src/runtime/) against its own tests (test/runtime/): `npm run mutate`.
// Too slow for `npm test` or CI (about an hour for every file on a quiet two-core machine); run one
// file with `npm run mutate -- --mutate src/runtime/statem.ts`. `--incremental` reuses the results
// in reports/stryker-incremental.json (ignored by git) and tests only the mutants a change touched.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate: ['src/runtime/**/*.ts'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.tmp/stryker',
  concurrency: 2,
  timeoutMS: 10_000,
  checkers: [],
};
