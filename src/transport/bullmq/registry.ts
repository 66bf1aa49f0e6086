import type { Redis } from 'ioredis';
import { isPid, type Pid } from '../../runtime/pid.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';
import type { GovernorCommands } from '../../store/redis-scripts.ts';

/** A cluster-wide name is taken: `holder` has it. */
export type RegisterResult = { ok: true } | { ok: false; error: 'taken'; holder: Pid };

/**
 * Cluster-wide names (Erlang's `global`): a name maps to one pid on any node, in Redis. A name
 * goes away with its process, and with its node when the node dies (the node that notices the
 * death removes it).
 */
export class GlobalRegistry {
  readonly #redis: Redis & GovernorCommands;
  readonly #keys: RedisKeys;
  readonly #node: string;
  /** The names this node's processes hold, by pid, to remove them when the process exits. */
  readonly #local = new Map<Pid, Set<string>>();

  constructor(redis: Redis & GovernorCommands, keys: RedisKeys, node: string) {
    this.#redis = redis;
    this.#keys = keys;
    this.#node = node;
  }

  async register(name: string, pid: Pid): Promise<RegisterResult> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('a global name must be a non-empty string');
    if (!isPid(pid)) throw new TypeError(`registerGlobal needs a pid, got ${String(pid)}`);
    const [ok, holder] = await this.#redis.govRegisterName(this.#keys.names, this.#keys.nodeNames(this.#node), name, pid);
    if (ok !== 1) return { ok: false, error: 'taken', holder: holder as Pid };
    let names = this.#local.get(pid);
    if (!names) this.#local.set(pid, (names = new Set()));
    names.add(name);
    return { ok: true };
  }

  async whereis(name: string): Promise<Pid | undefined> {
    const pid = await this.#redis.hget(this.#keys.names, name);
    return pid === null ? undefined : (pid as Pid);
  }

  async unregister(name: string): Promise<boolean> {
    const pid = await this.#redis.hget(this.#keys.names, name);
    if (pid === null) return false;
    const node = pid.slice(1, pid.lastIndexOf('.'));
    this.#local.get(pid as Pid)?.delete(name);
    return (await this.#redis.govUnregisterName(this.#keys.names, this.#keys.nodeNames(node), name, pid)) === 1;
  }

  /** Every cluster-wide name and its pid. */
  async all(): Promise<Record<string, Pid>> {
    return (await this.#redis.hgetall(this.#keys.names)) as Record<string, Pid>;
  }

  /** A local process exited: its names go. */
  exited(pid: Pid): void {
    const names = this.#local.get(pid);
    if (!names) return;
    this.#local.delete(pid);
    for (const name of names) {
      void this.#redis.govUnregisterName(this.#keys.names, this.#keys.nodeNames(this.#node), name, pid).catch(() => undefined);
    }
  }
}
