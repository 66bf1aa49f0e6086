import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, importsOf } from './import-graph.ts';

// Layers hold only if no file can reach itself through its imports: a circle makes its files one
// concept that cannot be read, tested or loaded apart (issue 19: the kernel was one eight-file circle).
describe('the import graph of the sources', () => {
  it('has no import circle in src/, machines/ or supervisors/', () => {
    expect(importCycles(importGraph(['src', 'machines', 'supervisors']))).toEqual([]);
  });

  it('keeps the node (process table, scheduler, signals) at the bottom of the kernel', () => {
    const graph = importGraph(['src']);
    const below = (file: string, seen = new Set<string>()): Set<string> => {
      for (const next of graph.get(file) ?? []) if (!seen.has(next)) below(next, seen.add(next));
      return seen;
    };
    const reached = [...below('src/runtime/node.ts')];
    // Nothing built on the node, and no concrete transport.
    for (const upper of ['process.ts', 'statem.ts', 'statem-scope.ts', 'entity-host.ts', 'supervisor/supervisor.ts', 'sys.ts']) {
      expect(reached).not.toContain(`src/runtime/${upper}`);
    }
    // Only the kernel and the shared leaves (errors, well-formed Unicode).
    expect(reached.filter((file) => !file.startsWith('src/runtime/') && file !== 'src/errors.ts' && file !== 'src/unicode.ts')).toEqual([]);
  });
});

describe('the cycle finder', () => {
  it('finds a circle of two, a circle through three and a file importing itself, and nothing in a chain', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', ['d']],
      ['d', ['e']],
      ['e', ['c']],
      ['f', ['f']],
      ['g', ['a']],
    ]);
    expect(importCycles(graph)).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f']]);
    expect(importCycles(new Map([['x', ['y']], ['y', ['z']], ['z', []]]))).toEqual([]);
  });

  it('counts type-only imports, re-exports and dynamic imports, not packages', () => {
    const text = [
      "import type { A } from './a.ts';",
      "export { B } from '../b.ts';",
      "const c = await import('./c/c.ts');",
      "import { z } from 'zod';",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(importsOf('src/x/file.ts', text)).toEqual(['src/x/a.ts', 'src/b.ts', 'src/x/c/c.ts']);
  });
});
