import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { systemClock } from '../../runtime/clock.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import { jobIdFor, JOB_FORMAT_VERSION, type JobData } from './job-format.ts';
import type { TransportSettings } from './options.ts';

/** A message on its way into a queue. */
export interface OutgoingJob {
  readonly queue: string;
  /** The message id; the BullMQ job id is made of it and the target ({@link jobIdFor}): an add of a job id already kept is ignored. */
  readonly id: string;
  readonly env: Envelope;
}

/** The BullMQ job name: the event type when there is one (readable in dashboards), else the envelope kind. */
export function jobName(env: Envelope): string {
  return 'event' in env ? env.event.type : env.t;
}

export function jobData(job: OutgoingJob): JobData {
  return { v: JOB_FORMAT_VERSION, id: job.id, env: job.env };
}

/** Waits on the real clock (I/O backoff, not actor time). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => systemClock.setTimeout(resolve, ms));
}

/**
 * Producer side: the node's BullMQ `Queue` objects (one per queue name, sharing one fail-fast
 * connection) and one ordered pipe into them.
 *
 * Every job this node adds goes through {@link Relay.push}: a batch is added only after the
 * batches pushed before it, and within a batch each queue's jobs go in push order in one
 * `addBulk` (one MULTI), the queues in parallel. That keeps the messages from one sender to one
 * receiver in order (a receiver's messages all go to one queue) and costs a busy node one round
 * trip per batch, not per message. A failed batch is added again with backoff until it succeeds:
 * adds are idempotent by job id.
 */
export class Relay {
  readonly #queues = new Map<string, Queue>();
  readonly #settings: TransportSettings;
  readonly #connection: Redis;
  readonly #logger: Logger;
  #buffer: { job: OutgoingJob; done?: () => void }[] = [];
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(connection: Redis, settings: TransportSettings, logger: Logger) {
    this.#connection = connection;
    this.#settings = settings;
    this.#logger = logger;
  }

  /** The `Queue` for a name, created on first use with the transport's settings. */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.#connection,
        prefix: this.#settings.prefix,
        streams: { events: { maxLen: this.#settings.eventsMaxLen } },
        defaultJobOptions: {
          attempts: 1,
          removeOnComplete: this.#settings.removeOnComplete,
          removeOnFail: this.#settings.removeOnFail,
        },
        telemetry: this.#settings.telemetry,
      });
      queue.on('error', (error) => this.#logger.debug({ err: error, queue: name }, 'queue error'));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Queues jobs for adding, after everything pushed before; `done` runs once they are all in Redis. */
  push(jobs: readonly OutgoingJob[], done?: () => void): void {
    if (jobs.length === 0) {
      if (done) this.#buffer.push({ job: undefined as never, done });
    } else {
      for (let i = 0; i < jobs.length; i++) this.#buffer.push({ job: jobs[i]!, done: i === jobs.length - 1 ? done : undefined });
    }
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
  }

  /** Resolves when everything pushed so far is in Redis (or dropped by {@link Relay.close}). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    let backoff = 50;
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, 5_000);
      // Order matters per receiver, and a receiver's messages all go to one queue: one addBulk
      // per queue (in order within it), all queues at once.
      const byQueue = new Map<string, OutgoingJob[]>();
      for (const { job } of batch) {
        if (job === undefined) continue;
        let jobs = byQueue.get(job.queue);
        if (!jobs) byQueue.set(job.queue, (jobs = []));
        jobs.push(job);
      }
      for (;;) {
        try {
          await Promise.all(
            [...byQueue].map(([name, jobs]) =>
              this.queue(name).addBulk(jobs.map((job) => ({ name: jobName(job.env), data: jobData(job), opts: { jobId: jobIdFor(job.env.to, job.id) } }))),
            ),
          );
          backoff = 50;
          break;
        } catch (error) {
          if (this.#closed) {
            this.#logger.error({ err: error, dropped: batch.length }, 'relay closed with jobs not yet added');
            return;
          }
          // Adds are idempotent by job id: the whole batch again.
          this.#logger.warn({ err: error }, 'adding jobs failed; retrying');
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2_000);
        }
      }
      for (const entry of batch) entry.done?.();
    }
  }

  /** Waits up to `timeoutMs` for pending adds, then gives up on the rest and closes the queues. */
  async close(timeoutMs: number): Promise<void> {
    await Promise.race([this.idle(), sleep(timeoutMs)]);
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => undefined)));
  }
}
