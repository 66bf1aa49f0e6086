/**
 * The entity view's drawing: generated from the machine definition (xstate/graph), one box per
 * state named for the page to highlight, the transitions between states drawn, the root's listed.
 */
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { machineSvg, topState } from '../../src/observer/machine-svg.ts';

const subscription = marketplaceKinds({ pseudonymKey: 'k'.repeat(32) }).find((kind) => kind.kind === 'Subscription')!.machine;
const boxes = (svg: string) => [...svg.matchAll(/<g class="state" data-state="([^"]+)">/g)].map((m) => m[1]);

describe('machineSvg', () => {
  it('draws one box per state of a governor, with the transitions between states and the root ones listed', () => {
    const svg = machineSvg(subscription);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(boxes(svg)).toEqual(['None', 'Trial', 'Active', 'Cancelled', 'Lapsed', 'Archived']);
    // Trial → Active, Cancelled → Lapsed, Lapsed → Archived: the state timeouts.
    expect(svg.match(/<line class="edge"[^>]*\/><text class="label"[^>]*>timeout<\/text>/g)).toHaveLength(3);
    expect(svg).toContain('in any state: commit → Trial, Active, Cancelled');
    expect(svg).toContain('in any state: prepare (stays)');
  });

  it('draws a loop for a transition that stays, and the initial state marked', () => {
    const machine = createMachine({ id: 'door', initial: 'closed', states: { closed: { on: { open: 'opened', knock: {} } }, opened: { on: { close: 'closed' } } } });
    const svg = machineSvg(machine);
    expect(boxes(svg)).toEqual(['closed', 'opened']);
    expect(svg).toMatch(/<path class="edge" d="M[^"]*c0,-28 26,-28 26,0"[^>]*\/><text class="label"[^>]*>knock<\/text>/);
    expect(svg).toContain('<circle class="initial"');
    expect(svg.match(/<text class="label"[^>]*>(open|close)<\/text>/g)).toHaveLength(2);
  });

  it('escapes names, so a state or machine name cannot inject markup into the page', () => {
    const machine = createMachine({ id: 'x<script>', initial: 'a&b', states: { 'a&b': {}, '"q"': {} } });
    const svg = machineSvg(machine);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('data-state="a&#38;b"');
    expect(svg).toContain('data-state="&#34;q&#34;"');
  });
});

describe('topState', () => {
  it('is the top-level state of a state value', () => {
    expect(topState('Trial')).toBe('Trial');
    expect(topState({ running: { sub: 'x' } })).toBe('running');
    expect(topState(undefined)).toBeUndefined();
  });
});
