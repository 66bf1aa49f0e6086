import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOMAIN_MACHINES, machinesMarkdown, mermaidStateDiagram } from '../../machines/governors/machine-diagram.ts';

describe('governor machine diagrams', () => {
  it('docs/machines.md is the generated one (regenerate: npm run governor -- machines --markdown > docs/machines.md)', () => {
    expect(readFileSync(new URL('../../docs/machines.md', import.meta.url), 'utf8')).toBe(machinesMarkdown());
  });

  it.each(DOMAIN_MACHINES.map((machine) => [machine.id, machine] as const))('%s: every state is drawn, and every transition that can move or apply', (_id, machine) => {
    const diagram = mermaidStateDiagram(machine);
    const edges = diagram.split('\n').filter((line) => line.includes(' --> ') && !line.includes('[*]'));
    const drawn = new Set(edges.flatMap((line) => line.trim().split(':')[0]!.split(' --> ')));
    expect([...drawn].sort()).toEqual(Object.keys(machine.root.states).sort());
    let applying = 0;
    for (const node of Object.values(machine.root.states)) {
      for (const definitions of node.transitions.values()) {
        applying += definitions.filter((t) => !t.actions.every((a) => typeof a === 'object' && a !== null && 'type' in a && (a.type === 'reject' || a.type === 'notApplicable')) || t.actions.length === 0).length;
      }
    }
    expect(edges).toHaveLength(applying);
  });
});
