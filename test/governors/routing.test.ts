import { describe, expect, it } from 'vitest';
import { governorDefinitions } from '../../machines/index.ts';
import { GOVERNORS, ROUTES, type GovernorKind } from '../../machines/governor-protocol.ts';
import { protocol } from '../../machines/governors/governor-kit.ts';
import { ev } from './domain-support.ts';
import { CUSTOMER } from './model-support.ts';

const definitions = governorDefinitions();
const routed = GOVERNORS.flatMap((kind) => Object.entries(ROUTES).filter(([, route]) => route.includes(kind)).map(([type]) => [kind, type] as const));

/** A new customer's governor of `kind` prepares an event of `type`. */
function prepareFresh<K extends GovernorKind>(kind: K, type: string) {
  const definition = definitions[kind];
  return protocol.prepare(definition, protocol.initial(definition, CUSTOMER), ev(type));
}

describe('routing', () => {
  it('routes every event type somewhere, and every governor gets something', () => {
    for (const kind of GOVERNORS) expect(routed.some(([k]) => k === kind), kind).toBe(true);
  });

  // A governor's own domain answers every type routed to it, in its initial state too: the kit's
  // generic "does not handle" is only for types the routing table never sends it.
  it.each(routed)('%s decides %s itself', (kind, type) => {
    const { reply } = prepareFresh(kind, type);
    expect(['applied', 'not_applicable', 'rejected']).toContain(reply.status);
    expect(reply.reason ?? '').not.toMatch(/does not handle/);
  });
});
