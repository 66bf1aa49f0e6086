// The default run counts, apart from the properties so that `governor check --help` imports nothing heavy.

/** How many runs the test and `governor check` make by default. */
export const DEFAULT_RUNS = 60;

/**
 * Runs of a `--machine` check unless told otherwise. Pure steps cost microseconds, so a thousand
 * runs take about a second, and a bug that needs a few events in a row at a limit (the fixture's
 * fourth push) is found: at 100 runs, one seed in ten missed it (seed 10 first fails at run 125).
 */
export const DEFAULT_MACHINE_RUNS = 1_000;
