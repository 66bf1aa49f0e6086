/**
 * The entity view's drawing: generated from the machine definition (xstate/graph), one box per
 * state named for the page to highlight, the events between two states on one edge, the root's
 * transitions listed; a governor is drawn as written out, its refusals left out.
 */
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { orchestratorMachine } from '../../machines/orchestrator.ts';
import { MARKETPLACE_DRAWING, marketplaceMachines } from '../../src/observer/attach.ts';
import { machineSvg, topState } from '../../src/observer/machine-svg.ts';

const boxes = (svg: string) => [...svg.matchAll(/<g class="state" data-state="([^"]+)">/g)].map((m) => m[1]);
/** Each edge's label (its full list of events, from the tooltip). */
const labels = (svg: string) => [...svg.matchAll(/<text class="label"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);

describe('machineSvg', () => {
  it('draws a governor as written out: its business events between its states, refusals left out', () => {
    const subscription = marketplaceMachines().get('Subscription')!;
    const svg = machineSvg(subscription, MARKETPLACE_DRAWING);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(boxes(svg)).toEqual(['None', 'Trial', 'Active', 'Cancelled', 'Lapsed', 'Archived']);
    // As `governor machines` has it: None → Trial and None → Active on a subscription, Trial →
    // Cancelled on a cancellation, one loop for the events Active takes without moving.
    expect(labels(svg)).toEqual(expect.arrayContaining(['CustomerSubscribes', 'CustomerCancels', 'timeout', 'CustomerUpgrades, RenewalDue']));
    expect(svg.match(/<path class="edge" d="M[^"]*c0,-28 26,-28 26,0"/g)).toHaveLength(2); // Trial's and Active's loops
    expect(svg).not.toMatch(/reject|notApplicable/);
  });

  it('draws the machine an entity runs when no written-out one exists, its root transitions listed', () => {
    expect(marketplaceMachines().get('Orchestrator')).toBe(orchestratorMachine);
    const runtime = marketplaceKinds({ pseudonymKey: 'k'.repeat(32) }).find((kind) => kind.kind === 'Subscription')!.machine;
    const svg = machineSvg(runtime);
    expect(boxes(svg)).toEqual(['None', 'Trial', 'Active', 'Cancelled', 'Lapsed', 'Archived']);
    expect(svg).toContain('in any state: commit → Trial, Active, Cancelled');
    expect(svg).toContain('in any state: prepare (stays)');
  });

  it('shares one edge per pair of states and direction, bows the two directions apart, and marks the initial state', () => {
    const machine = createMachine({ id: 'door', initial: 'closed', states: { closed: { on: { open: 'opened', push: 'opened', knock: {} } }, opened: { on: { close: 'closed' } } } });
    const svg = machineSvg(machine);
    expect(boxes(svg)).toEqual(['closed', 'opened']);
    expect(labels(svg)).toEqual(['open, push', 'knock', 'close']);
    const curves = [...svg.matchAll(/<path class="edge" d="M(\d+),(\d+) Q(\d+),(\d+) (\d+),(\d+)"/g)].map((m) => Number(m[4]));
    expect(curves).toHaveLength(2);
    expect(curves[0]).not.toBe(curves[1]); // closed → opened above, opened → closed below
    expect(svg).toContain('<circle class="initial"');
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
