import { Worker, type Job, type JobJson } from 'bullmq';
import { checkJob, type CheckedJob } from './job-format.ts';

/** Jobs whose stored `data` could not be parsed, with the parser's complaint. */
const unreadable = new WeakMap<Job, string>();

/**
 * A BullMQ `Worker` that hands every fetched job to its processor, even one whose stored `data`
 * is not JSON (written to Redis by something other than BullMQ). BullMQ parses the data in
 * `Job.fromJSON` while fetching, before any processor runs; the exception escapes its fetch loop,
 * and the job stays active and locked, blocking a partition at concurrency 1 until the stalled
 * check gives it up. Here such a job is built with its raw text as `data` and marked unreadable,
 * so {@link checkFetchedJob} names the problem and the processor dead-letters it like any other
 * bad job, and the jobs behind it run.
 *
 * @internal
 */
export class GuardedWorker extends Worker {
  protected override createJob(json: JobJson, jobId: string): Job {
    try {
      return super.createJob(json, jobId);
    } catch (error) {
      const job = super.createJob({ ...json, data: '{}' }, jobId);
      // The payload exactly as it is in Redis, so the dead letter shows what came.
      job.data = json.data as unknown;
      unreadable.set(job, `data is not JSON (${error instanceof Error ? error.message : String(error)})`);
      return job;
    }
  }
}

/**
 * {@link checkJob} for a job fetched by a {@link GuardedWorker}: an unreadable job is a problem
 * like any other malformed one.
 *
 * @internal
 */
export function checkFetchedJob(job: Job): CheckedJob {
  const problem = unreadable.get(job);
  return problem === undefined ? checkJob(job.data, job.id) : { ok: false, problem };
}
