import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { every, systemClock } from '../../runtime/clock.ts';
import { retry, type BackoffPolicy } from '../../runtime/retry.ts';
import type { TransportEndpoint } from '../../runtime/transport.ts';
import type { DatasetEpoch } from '../../store/dataset-epoch.ts';
import type { DatasetRolledBackError } from '../../store/redis-errors.ts';

/** Tries at recording a halt (100 ms, then doubling up to 3.2 s: 3 to 6 s in all) before saying it could not. */
const HALT_ATTEMPTS = 7;
const HALT_RETRY: BackoffPolicy = { initialMs: 100, maxMs: 3_200 };

/** What the watch needs from its transport. @internal */
export interface DatasetWatchContext {
  node(): TransportEndpoint;
  /** The sentinel and the connection to read it on, once the transport has started. */
  epoch(): DatasetEpoch | undefined;
  redis(): Redis | undefined;
  readonly logger: () => Logger;
  readonly heartbeatMs: number;
  /** The transport takes work now (a check while starting or stopping would race its own steps). */
  running(): boolean;
  /** Stops taking work and leaves the cluster. */
  leave(): Promise<unknown>;
}

/**
 * Watches the dataset for going backwards (see {@link DatasetEpoch}): at every heartbeat, so a
 * node with nothing to commit finds a loss too, and whenever a commit reports one. On a loss it
 * says so, halts the dataset for every node (the first finder's record stays), has the transport
 * leave, and then tells its listeners; nothing more is committed from here.
 *
 * @internal one concept of the BullMQ transport, behind its façade.
 */
export class DatasetWatch {
  readonly #ctx: DatasetWatchContext;
  #rolledBack: DatasetRolledBackError | undefined;
  /** The rollback listeners have been called: a later one is called at once. */
  #done = false;
  readonly #listeners: ((error: DatasetRolledBackError) => void)[] = [];

  constructor(ctx: DatasetWatchContext) {
    this.#ctx = ctx;
  }

  /** Reads the sentinel every heartbeat until the returned function is called. */
  start(): () => void {
    let checking = false;
    return every(
      systemClock,
      this.#ctx.heartbeatMs,
      () => {
        const epoch = this.#ctx.epoch();
        const redis = this.#ctx.redis();
        if (checking || !epoch || !redis || !this.#ctx.running()) return;
        checking = true;
        epoch
          .check(redis)
          .then(
            (error) => error && this.rolledBack(error),
            (error: unknown) => this.#ctx.logger().debug({ err: error }, 'could not read the dataset sentinel'),
          )
          .finally(() => (checking = false));
      },
      { unref: true },
    );
  }

  /** Called once (see {@link BullmqTransport.onRollback}); at once when the rollback was handled already. */
  onRollback(listener: (error: DatasetRolledBackError) => void): void {
    if (this.#rolledBack && this.#done) listener(this.#rolledBack);
    else this.#listeners.push(listener);
  }

  /** The dataset went backwards (found by the watch or a commit): halt, leave, tell. */
  rolledBack(error: DatasetRolledBackError): void {
    if (this.#rolledBack) return;
    this.#rolledBack = error;
    const node = this.#ctx.node();
    const logger = this.#ctx.logger();
    logger.error({ code: error.code, key: error.key, seen: error.seen, found: error.found }, error.message);
    void (async () => {
      // Found right after Redis came back, the connection may still be reconnecting: the halt is
      // what stops the other nodes (whose marks may be lower), so it is tried again for a while.
      const epoch = this.#ctx.epoch();
      const redis = this.#ctx.redis();
      if (epoch && redis) {
        await retry(() => epoch.halt(redis, error, node.name, node.clock.now()), {
          what: 'recording the halt',
          policy: HALT_RETRY,
          clock: node.clock,
          onFailure: (cause, attempt) => {
            const last = attempt === HALT_ATTEMPTS - 1;
            logger[last ? 'error' : 'warn']({ err: cause, attempt: attempt + 1 }, last ? 'could not record the halt in Redis: halt the dataset by hand before restarting nodes' : 'could not record the halt in Redis yet');
            return !last;
          },
        }).catch(() => undefined); // the last failure is logged above
      }
      await this.#ctx.leave().catch((cause: unknown) => logger.error({ err: cause }, 'leaving the cluster failed: the leases will expire'));
      this.#done = true;
      for (const listener of this.#listeners.splice(0)) listener(error);
    })();
  }
}
