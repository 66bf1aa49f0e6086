import type { AnyStateMachine, AnyTransitionDefinition } from 'xstate';
import { toDirectedGraph, type DirectedGraphEdge, type DirectedGraphNode } from 'xstate/graph';

/** Box size and gaps of the drawing, in SVG units. */
const BOX = { width: 150, height: 40, gapX: 110, gapY: 90, perRow: 3, margin: 30 };
/** Longer edge labels are cut (the whole label is the edge's tooltip). */
const LABEL_MAX = 40;

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The top-level state a state value is in: `'Trial'` for `'Trial'`, `'a'` for `{ a: 'b' }`. */
export function topState(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return Object.keys(value)[0];
  return undefined;
}

export interface MachineSvgOptions {
  /** Transitions left out of the drawing (e.g. refusals, which never move). @default none */
  readonly skip?: (transition: AnyTransitionDefinition) => boolean;
}

interface Placed {
  readonly key: string;
  readonly x: number;
  readonly y: number;
}

/**
 * A machine's top-level states and transitions as an SVG, laid out on a grid, from `xstate/graph`'s
 * directed graph: generated here, drawn by the browser, no network and no layout library. Each
 * state is a `<g data-state="…">`; the page marks the current one (class `current`), so one
 * drawing serves every entity of the kind. The events between two states share one curved edge
 * (the two directions bow apart), a state's self-transitions one loop; transitions defined on the
 * root (taken in any state) are listed under the drawing rather than drawn from every box.
 */
export function machineSvg(machine: AnyStateMachine, options: MachineSvgOptions = {}): string {
  const skip = options.skip ?? (() => false);
  const graph = toDirectedGraph(machine);
  const placed = new Map<string, Placed>();
  graph.children.forEach((child, i) => {
    const col = i % BOX.perRow;
    const row = Math.floor(i / BOX.perRow);
    placed.set(child.id, { key: child.stateNode.key, x: BOX.margin + col * (BOX.width + BOX.gapX), y: BOX.margin + 40 + row * (BOX.height + BOX.gapY) });
  });
  const rows = Math.max(1, Math.ceil(graph.children.length / BOX.perRow));
  const everywhere = rootTransitions(graph, skip);
  // Room on the right for the label of a loop on the last column.
  const width = BOX.margin * 2 + BOX.perRow * BOX.width + (BOX.perRow - 1) * BOX.gapX + 80;
  const listY = BOX.margin + 40 + rows * BOX.height + (rows - 1) * BOX.gapY + 30;
  const height = listY + everywhere.length * 18 + BOX.margin;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" data-machine="${escapeXml(machine.id)}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    `<text class="title" x="${BOX.margin}" y="${BOX.margin}">${escapeXml(machine.id)}</text>`,
  ];
  const [initial] = machine.root.initial.target;
  const start = initial ? placed.get(initial.id) : undefined;
  if (start) parts.push(`<circle class="initial" cx="${start.x - 14}" cy="${start.y - 14}" r="5"/><line class="edge" x1="${start.x - 10}" y1="${start.y - 10}" x2="${start.x}" y2="${start.y}" marker-end="url(#arrow)"/>`);
  for (const p of placed.values()) {
    parts.push(
      `<g class="state" data-state="${escapeXml(p.key)}"><rect x="${p.x}" y="${p.y}" width="${BOX.width}" height="${BOX.height}" rx="10"/>` +
        `<text x="${p.x + BOX.width / 2}" y="${p.y + BOX.height / 2 + 5}" text-anchor="middle">${escapeXml(p.key)}</text></g>`,
    );
  }
  // Edges after the boxes: their labels stay readable where they cross one.
  for (const child of graph.children) {
    for (const [target, events] of eventsByTarget(child.edges, skip)) parts.push(edgeSvg(placed.get(child.id), placed.get(target), events));
  }
  everywhere.forEach((line, i) => parts.push(`<text class="everywhere" x="${BOX.margin}" y="${listY + i * 18}">${escapeXml(line)}</text>`));
  parts.push('</svg>');
  return parts.join('\n');
}

/** A state's transitions grouped by target, each with its distinct event types in order. */
function eventsByTarget(edges: readonly DirectedGraphEdge[], skip: (t: AnyTransitionDefinition) => boolean): Map<string, string[]> {
  const byTarget = new Map<string, string[]>();
  for (const edge of edges) {
    if (skip(edge.transition)) continue;
    const events = byTarget.get(edge.target.id) ?? [];
    if (!events.includes(edge.transition.eventType)) events.push(edge.transition.eventType);
    byTarget.set(edge.target.id, events);
  }
  return byTarget;
}

/** The root's transitions, one line per event: `in any state: commit → Trial, Active`. */
function rootTransitions(graph: DirectedGraphNode, skip: (t: AnyTransitionDefinition) => boolean): string[] {
  const byEvent = new Map<string, Set<string>>();
  for (const edge of graph.edges) {
    if (skip(edge.transition)) continue;
    const targets = byEvent.get(edge.transition.eventType) ?? new Set<string>();
    if (edge.target.id !== graph.id) targets.add(edge.target.key);
    byEvent.set(edge.transition.eventType, targets);
  }
  return [...byEvent].map(([event, targets]) => `in any state: ${event}${targets.size > 0 ? ` → ${[...targets].join(', ')}` : ' (stays)'}`);
}

function labelSvg(x: number, y: number, events: readonly string[]): string {
  const full = events.join(', ');
  const shown = full.length > LABEL_MAX ? `${full.slice(0, LABEL_MAX - 1)}…` : full;
  return `<text class="label" x="${Math.round(x)}" y="${Math.round(y)}" text-anchor="middle"><title>${escapeXml(full)}</title>${escapeXml(shown)}</text>`;
}

function edgeSvg(from: Placed | undefined, to: Placed | undefined, events: readonly string[]): string {
  if (!from || !to) return '';
  if (from === to) {
    // Transitions that stay: one loop over the box's top edge.
    const x = from.x + BOX.width - 40;
    return `<path class="edge" d="M${x},${from.y} c0,-28 26,-28 26,0" marker-end="url(#arrow)"/>${labelSvg(x + 13, from.y - 26, events)}`;
  }
  const a = { x: from.x + BOX.width / 2, y: from.y + BOX.height / 2 };
  const b = { x: to.x + BOX.width / 2, y: to.y + BOX.height / 2 };
  const [x1, y1] = boxExit(a, b);
  const [x2, y2] = boxExit(b, a);
  // Bowed to the left of its direction: A→B and B→A part, and a long edge clears the boxes between.
  const length = Math.hypot(x2 - x1, y2 - y1) || 1;
  const bow = Math.min(60, 0.18 * length);
  const cx = Math.round((x1 + x2) / 2 + (-(y2 - y1) / length) * bow);
  const cy = Math.round((y1 + y2) / 2 + ((x2 - x1) / length) * bow);
  return `<path class="edge" d="M${x1},${y1} Q${cx},${cy} ${x2},${y2}" marker-end="url(#arrow)"/>${labelSvg((x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4 - 4, events)}`;
}

/** Where the line from the centre `c` towards `to` leaves the box around `c`. */
function boxExit(c: { x: number; y: number }, to: { x: number; y: number }): [number, number] {
  const dx = to.x - c.x;
  const dy = to.y - c.y;
  const scale = 1 / Math.max(Math.abs(dx) / (BOX.width / 2), Math.abs(dy) / (BOX.height / 2), 1e-9);
  return [Math.round(c.x + dx * scale), Math.round(c.y + dy * scale)];
}
