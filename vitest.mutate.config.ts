import { defineConfig } from 'vitest/config';

// The runtime's own tests, for mutation testing of src/runtime/ (stryker.config.mjs): only these
// are meant to see the kernel's behaviour, and the rest of the suite would multiply the run time.
export default defineConfig({
  test: {
    include: ['test/runtime/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
