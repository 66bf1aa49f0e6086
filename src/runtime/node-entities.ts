import type { EntityAddress } from './entity.ts';
import type { Pid } from './pid.ts';

/**
 * The entities a node hosts, as the node itself needs them: whether it hosts a kind, and the pid
 * of an entity (spawned or restored on its first message). The node is the bottom layer and
 * imports nothing built on it: an `EntityHost` registers itself in {@link Node.entities}, and
 * entity-host.ts widens this interface to its whole API by declaration merging, so
 * `node.entities` offers what the entity layer has wherever that layer is loaded.
 */
export interface NodeEntities {
  hosts(kind: string): boolean;
  ensure(address: EntityAddress): Pid | undefined;
}
