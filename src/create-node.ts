import { Node, type NodeOptions } from './runtime/node.ts';
import { MemoryTransport } from './transport/memory.ts';

/**
 * Creates a node, wiring the default transport: a private in-memory one when `options.transport`
 * is not given. The kernel (src/runtime/) knows no concrete transport; this entry point does.
 *
 * @example
 * const node = createNode();
 * const pid = spawnStatem(node, counterMachine);
 */
export function createNode(options: NodeOptions = {}): Node {
  return new Node({ ...options, transport: options.transport ?? new MemoryTransport() });
}
