import type { Pid } from './pid.ts';

/**
 * A process's links: a set of pids that holds its first one inline. Nearly every resident process
 * has exactly one link (its supervisor), and a `Set` with one entry costs about 150 bytes against
 * this object's 24; the `Set` is made only for a second link. Iterates in insertion order, as a
 * `Set` does (and live, as a `Set` is, once it holds more than one).
 */
export class PidSet implements Iterable<Pid> {
  #one: Pid | undefined;
  #many: Set<Pid> | undefined;

  add(pid: Pid): void {
    if (this.#many) {
      this.#many.add(pid);
      return;
    }
    if (this.#one === undefined) {
      this.#one = pid;
      return;
    }
    // Stryker disable next-line ConditionalExpression: a Set made for the one pid added again would hold it once, the same set in more memory
    if (this.#one === pid) return;
    this.#many = new Set([this.#one, pid]);
    this.#one = undefined;
  }

  /** Whether the pid was in the set, as `Set.delete` answers. */
  delete(pid: Pid): boolean {
    if (this.#many) return this.#many.delete(pid);
    if (this.#one !== pid) return false;
    this.#one = undefined;
    return true;
  }

  *[Symbol.iterator](): Iterator<Pid> {
    if (this.#many) yield* this.#many;
    else if (this.#one !== undefined) yield this.#one;
  }
}
