import type { Redis } from 'ioredis';
import type { AnyStateMachine } from 'xstate';
import type { Admin } from '../cli/admin.ts';
import type { EntityKind } from '../runtime/entity-host.ts';
import type { Node } from '../runtime/node.ts';
import type { AdminGateway } from './admin-gateway.ts';
import type { MachineSvgOptions } from './machine-svg.ts';

/**
 * What the observer shows and acts on. Reads go through the REPL's {@link Admin} (in this process
 * or over the admin protocol), actions through an {@link AdminGateway}; the observer itself keeps
 * no state of the system.
 */
export interface ObserverSource {
  /** One line for the page's header: which node or cluster this is. */
  readonly title: string;
  readonly admin: Admin;
  readonly gateway: AdminGateway;
  /** Each entity kind's machine, drawn on the entity view. */
  readonly machines: ReadonlyMap<string, AnyStateMachine>;
  /** How they are drawn (e.g. which transitions are left out). @default every transition */
  readonly drawing?: MachineSvgOptions;
  /** The node's queues, for Bull Board; absent on the embedded node (memory transport). */
  readonly queues?: { readonly connection: Redis; readonly prefix: string };
  /** Told of every process exit, when the node runs in this process: the tree is read at once. */
  onExit?(listener: () => void): () => void;
}

/** The machines of entity kinds, by kind. */
export function machinesOf(kinds: readonly EntityKind[]): ReadonlyMap<string, AnyStateMachine> {
  return new Map(kinds.map((kind) => [kind.kind, kind.machine]));
}

/** `onExit` of a node in this process. */
export function exitsOf(node: Node): (listener: () => void) => () => void {
  return (listener) => node.onExit(() => listener());
}
