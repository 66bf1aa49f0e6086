import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Envelope } from '../../runtime/envelope.ts';
import type { TraceCarrier } from './trace-context.ts';
import { retry, settledWithin, type BackoffPolicy } from '../../runtime/retry.ts';
import { jobIdFor, JOB_FORMAT_VERSION, type JobData } from './job-format.ts';
import type { TransportSettings } from './options.ts';
import { addingQueue, QueueCache } from './queue-cache.ts';

/** A message on its way into a queue. */
export interface OutgoingJob {
  readonly queue: string;
  /** The message id; the BullMQ job id is made of it and the target ({@link jobIdFor}): an add of a job id already kept is ignored. */
  readonly id: string;
  readonly env: Envelope;
  /** The sending step's trace context (a node that traces), written to the job's `trace` field. */
  readonly trace?: TraceCarrier;
}

/**
 * The BullMQ job name of a relayed message: its message type (`prepare`, `commit`, …) when it
 * carries one, else the envelope's kind (`reply`, `down`, …), so dashboards list jobs by what they
 * are. Informative only: the receiving node reads the job's data, never its name.
 */
export function jobName(env: Envelope): string {
  return 'event' in env ? env.event.type : env.t;
}

export function jobData(job: OutgoingJob): JobData {
  return job.trace === undefined ? { v: JOB_FORMAT_VERSION, id: job.id, env: job.env } : { v: JOB_FORMAT_VERSION, id: job.id, env: job.env, trace: job.trace };
}

/** Adding a batch again after a failure: 50 ms, doubling, up to 2 s (adds are idempotent by job id). */
const ADD_RETRY: BackoffPolicy = { initialMs: 50, maxMs: 2_000 };

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
  readonly #queues: QueueCache;
  readonly #logger: Logger;
  #buffer: { job: OutgoingJob; done?: () => void }[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  /** Aborted by {@link Relay.close}: a retry waiting out its backoff stops at once. */
  readonly #stop = new AbortController();

  constructor(connection: Redis, settings: TransportSettings, logger: Logger) {
    this.#logger = logger;
    this.#queues = new QueueCache(
      (name) => {
        const queue = addingQueue(name, connection, settings);
        queue.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue error'));
        return queue;
      },
      (name, error) => logger.warn({ err: error, queue: name }, 'a queue could not be initialized: it is created again on next use'),
    );
  }

  /** The `Queue` for a name, created on first use with the transport's settings (again after a failed start, see {@link QueueCache}). */
  queue(name: string): Queue {
    return this.#queues.get(name);
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
      try {
        await retry(
          () =>
            Promise.all(
              [...byQueue].map(([name, jobs]) =>
                this.queue(name).addBulk(jobs.map((job) => ({ name: jobName(job.env), data: jobData(job), opts: { jobId: jobIdFor(job.env.to, job.id) } }))),
              ),
            ),
          {
            what: 'adding jobs',
            policy: ADD_RETRY,
            signal: this.#stop.signal,
            onFailure: (error) => {
              if (this.#closed) return false;
              // Adds are idempotent by job id: the whole batch again.
              this.#logger.warn({ err: error }, 'adding jobs failed; retrying');
            },
          },
        );
      } catch (error) {
        this.#logger.error({ err: error, dropped: batch.length }, 'relay closed with jobs not yet added');
        return;
      }
      for (const entry of batch) entry.done?.();
    }
  }

  /** Waits up to `timeoutMs` for pending adds, then gives up on the rest and closes the queues. */
  async close(timeoutMs: number): Promise<void> {
    await settledWithin(this.idle(), timeoutMs);
    this.#closed = true;
    this.#stop.abort();
    await this.#queues.close();
  }
}
