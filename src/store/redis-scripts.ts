import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Governor's Redis scripts, one `.lua` file each in `lua/`, named `<command>-<numKeys>.lua`
 * (`-n` when the caller passes a variable number of keys), as BullMQ's `commands/`.
 *
 * They are registered with ioredis' `defineCommand`, which runs them by EVALSHA and falls back to
 * EVAL after a `NOSCRIPT` (a restarted Redis has forgotten every script).
 */
const SCRIPTS = [
  'commit-n',
  'save-1',
  'heartbeat-2',
  'renew-n',
  'claim-n',
  'release-n',
  'registerName-2',
  'unregisterName-2',
  'reapNode-4',
  'throttle-3',
  'openEpoch-1',
] as const;

type ScriptName = (typeof SCRIPTS)[number];

let sources: Map<ScriptName, string> | undefined;

function load(): Map<ScriptName, string> {
  sources ??= new Map(SCRIPTS.map((name) => [name, readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')]));
  return sources;
}

const defined = new WeakSet<Redis>();

/** The scripts as methods of a connection: fixed-key ones take their keys first, `-n` ones the key count first. */
export interface GovernorCommands {
  govCommit(numKeys: number, ...args: (string | number)[]): Promise<unknown[]>;
  govSave(key: string, expected: number, data: string): Promise<[number, number]>;
  govHeartbeat(nodes: string, info: string, node: string, ttlMs: number, nodeInfo: string): Promise<(string | number)[]>;
  govRenew(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  govClaim(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  govRelease(numKeys: number, ...args: (string | number)[]): Promise<number>;
  govRegisterName(names: string, nodeNames: string, name: string, pid: string): Promise<[number, string | null]>;
  govUnregisterName(names: string, nodeNames: string, name: string, pid: string): Promise<number>;
  govReapNode(nodes: string, info: string, names: string, nodeNames: string, node: string, before: number): Promise<number>;
  govOpenEpoch(epoch: string, freshId: string, counted: 'seq' | ''): Promise<[string, number, string, number]>;
  govThrottle(rate: string, attempts: string, reported: string, intervalMs: number, burst: number, maxDelayMs: number, count: number, reportMs: number): Promise<number[]>;
}

/** Registers Governor's scripts on a connection (once per connection) and returns it typed. */
export function withScripts(redis: Redis): Redis & GovernorCommands {
  if (!defined.has(redis)) {
    for (const [name, lua] of load()) {
      const [command, keys] = name.split('-') as [string, string];
      const method = `gov${command[0]!.toUpperCase()}${command.slice(1)}`;
      redis.defineCommand(method, keys === 'n' ? { lua } : { lua, numberOfKeys: Number(keys) });
    }
    defined.add(redis);
  }
  return redis as Redis & GovernorCommands;
}
