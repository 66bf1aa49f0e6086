/**
 * `npm run bench -- <name>`: runs bench/<name>.ts, which prints its figures and, as its last line,
 * one JSON object comparing Governor with the raw library doing the same work in the same run.
 */
const BENCHES = ['runtime', 'transport', 'lifecycle', 'chaos', 'backpressure', 'noisy', 'age', 'cluster', 'fleet-memory', 'lifecycle-breakdown'] as const;

const name = process.argv[2];
if (!name || !(BENCHES as readonly string[]).includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHES.join('|')}>`);
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  console.error('benchmarks measure memory and need node --expose-gc: run them with npm run bench');
  process.exit(2);
}
const bench = (await import(`./${name}.ts`)) as { main(): Promise<Record<string, unknown>> };
const result = await bench.main();
console.log(JSON.stringify(result));
process.exit(0);
