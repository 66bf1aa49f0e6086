import type { Job, Queue } from 'bullmq';

/** A message that could not be handled, kept with its reason and the payload exactly as it came. */
export interface DeadLetter {
  /** The dead letter's own id (`<queue>~<job id>`), for {@link replayDeadLetter}. */
  readonly id: string;
  readonly reason: string;
  /** The queue it came from, and goes back to when replayed. */
  readonly queue: string;
  readonly jobId: string | undefined;
  readonly name: string;
  /** The job's data as it was in Redis. */
  readonly data: unknown;
  /** The node that gave up on it, and when (ms since the epoch). */
  readonly node: string;
  readonly at: number;
}

type DeadLetterData = Omit<DeadLetter, 'id'>;

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
 * Puts a dead letter back into its queue (optionally with corrected data) and removes it from the
 * dead letters. The message id stays the same, so a message that was in fact handled is skipped.
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
  await queueOf(dead.queue).add(dead.name, data, { jobId });
  await letter.remove();
  return { ok: true, queue: dead.queue, jobId };
}
