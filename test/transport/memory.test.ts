import { createNode, EntityHost, MemoryStore, MemoryTransport, type EntityAddress, type Node } from '../../src/index.ts';
import { transportConformance, type ConformanceHarness } from './conformance.ts';

/** Nodes sharing one MemoryTransport, their entities saved after every message to one MemoryStore. */
function memoryHarness(): ConformanceHarness {
  const store = new MemoryStore();
  const nodes: Node[] = [];
  return {
    async start(count, kinds) {
      const transport = new MemoryTransport();
      for (let i = 0; i < count; i++) {
        const node = createNode({ name: `m${i}`, transport });
        new EntityHost(node, kinds, {
          restore: (address) => store.get(address)?.state,
          commit: (address, persist) => void store.put(address, persist(), store.get(address)?.version ?? 0),
        });
        nodes.push(node);
      }
      return nodes.map((node) => ({ node }));
    },
    async passivate(address: EntityAddress) {
      for (const node of nodes) {
        const state = node.entities?.passivate(address);
        if (state) store.put(address, state, store.get(address)?.version ?? 0);
      }
    },
    async stop() {
      for (const node of nodes) await node.stop();
    },
  };
}

transportConformance('memory', memoryHarness);
