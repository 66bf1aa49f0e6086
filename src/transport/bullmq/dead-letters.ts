import { UnrecoverableError, type Job, type Queue } from 'bullmq';

/**
 * A message that could not be handled, kept with its reason and the payload exactly as it came.
 * Its job stays in its own queue as a BullMQ *failed* job (`queue` + `jobId` name it there, e.g.
 * in Bull Board), with this `reason` as its `failedReason`, until the queue's `removeOnFail`
 * trims it or the letter is replayed.
 */
export interface DeadLetter {
  /** The dead letter's own id (`<queue>~<job id>`), for {@link replayDeadLetter}. */
  readonly id: string;
  /**
   * Why; the failed job's `failedReason` too (for a job BullMQ failed by itself, e.g. stalled too
   * often, this is `failed in BullMQ: ` and its `failedReason`).
   */
  readonly reason: string;
  /** The queue it came from, where its job is failed, and where it goes back when replayed. */
  readonly queue: string;
  /** The failed job's id in `queue` (`undefined` only for a job BullMQ gave no id). */
  readonly jobId: string | undefined;
  /** The job's name as its producer gave it (informative: the data's type decides what it is). */
  readonly name: string;
  /** The job's data as it was in Redis. */
  readonly data: unknown;
  /** The node that gave up on it, and when (ms since the epoch). */
  readonly node: string;
  readonly at: number;
}

type DeadLetterData = Omit<DeadLetter, 'id'>;

/**
 * Thrown by a processor once its job is in the dead-letter queue: BullMQ then moves the job to
 * *failed* in its own queue, with the reason as its `failedReason`, and never retries it (an
 * `UnrecoverableError`, whatever `attempts` its producer set). It fetches the next job as a
 * completion would, so the partition goes on in order; nothing was committed, so the message is
 * not handled. It extends BullMQ's class rather than `GovernorError` because BullMQ recognises
 * it by class; it never reaches a caller of Governor's API.
 *
 * @internal
 */
export class DeadLetteredError extends UnrecoverableError {
  readonly code = 'DEAD_LETTERED';

  constructor(reason: string) {
    super(reason);
    this.name = 'DeadLetteredError';
    // No stack: BullMQ would store it beside `failedReason`, a second copy of the reason (which
    // may quote the job's data) that an erasure would have to find too, and its frames say nothing.
    this.stack = '';
  }
}

/**
 * Moves a job to the dead-letter queue (a BullMQ queue nobody consumes). Idempotent: the dead
 * letter's job id is derived from the job's, so dead-lettering it twice keeps one.
 */
export async function addDeadLetter(dlq: Queue, job: Job, reason: string, node: string, at: number): Promise<void> {
  const data: DeadLetterData = { reason, queue: job.queueName, jobId: job.id, name: job.name, data: job.data as unknown, node, at };
  await dlq.add('dead-letter', data, { jobId: `${job.queueName}~${job.id ?? at}`, removeOnComplete: false, removeOnFail: false });
}

/** Dead letters, oldest first. */
export async function listDeadLetters(dlq: Queue, start = 0, end = 999): Promise<DeadLetter[]> {
  const jobs = await dlq.getJobs(['waiting'], start, end, true);
  return jobs.filter((job): job is Job => job !== undefined && job.id !== undefined).map((job) => ({ id: job.id!, ...(job.data as DeadLetterData) }));
}

export type ReplayResult = { ok: true; queue: string; jobId: string } | { ok: false; error: 'not_found' };

/**
 * Puts a dead letter back into its queue (optionally with corrected data), as a new job
 * (`<job id>~replay~<time>`), and removes it from the dead letters, and its failed original from
 * its queue: the replay is what runs now, and the original's job id is free for a producer's
 * resend. The message id stays the same, so a message that was in fact handled is skipped.
 */
export async function replayDeadLetter(
  dlq: Queue,
  queueOf: (name: string) => Queue,
  id: string,
  options: { data?: unknown } = {},
): Promise<ReplayResult> {
  const letter = await dlq.getJob(id);
  if (!letter) return { ok: false, error: 'not_found' };
  const dead = letter.data as DeadLetterData;
  let data = options.data ?? dead.data;
  // Keep the message id: without one in the data, it was the original job id.
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && !('id' in data) && dead.jobId !== undefined) {
    data = { ...data, id: dead.jobId };
  }
  const jobId = `${dead.jobId ?? 'job'}~replay~${letter.timestamp}`;
  const queue = queueOf(dead.queue);
  await queue.add(dead.name, data, { jobId });
  // Only a failed original: under its id there may be a job sent again since (waiting or done).
  if (dead.jobId !== undefined && (await queue.getJobState(dead.jobId)) === 'failed') await queue.remove(dead.jobId);
  await letter.remove();
  return { ok: true, queue: dead.queue, jobId };
}
