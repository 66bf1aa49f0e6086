import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ERASED, PERSONAL_EVENT_FIELDS, redactPersonal } from '../../marketplace/personal-data.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';
import { KeyPartitions } from '../../store/key-partitions.ts';
import { CUSTOMER_KINDS } from './customer-records.ts';

/**
 * Copies of a customer's events outside its states: BullMQ keeps a job's data after it fails, and
 * after it completes when the nodes keep completed jobs (`removeOnComplete` set to keep some; by
 * default they are removed at once), and the dead
 * letters keep theirs until replayed. Both hold the events as sent, personal fields included.
 * An erasure redacts them in place (`Job.updateData`) rather than deleting them: a completed job
 * still answers a re-add of its id as a duplicate, and a dead letter still says what went wrong.
 */

/**
 * Job states redacted: those of jobs that are done. A job still to run (waiting, delayed, active)
 * is left as it is: it was enqueued after the erasure was decided (a customer's messages run in
 * order), so it is a later event, handled by the rule for those (a new record); rewriting it would
 * change the event under its eventId (a resend would then be refused as a reused key).
 */
const JOB_STATES = ['completed', 'failed'] as const;

/** Dead letters are never consumed: they wait in the DLQ until replayed, so every state is read. */
const DEAD_LETTER_STATES = ['wait', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** The partition queues the customer's entities use, in both placements (a fleet may run either). */
export function customerQueues(keys: RedisKeys, customerId: string, partitions: number): string[] {
  const names = new Set<string>();
  for (const placement of ['sharded', 'distributed'] as const) {
    const map = new KeyPartitions(partitions, placement);
    for (const entity of CUSTOMER_KINDS) names.add(keys.partitionQueue(map.partitionOf({ entity, key: customerId })));
  }
  return [...names];
}

/** Whether a job's data is a message to one of the customer's entities (`env.to.key`). */
function namesCustomer(data: unknown, customerId: string): boolean {
  const to = (data as { env?: { to?: { key?: unknown } } } | null)?.env?.to;
  return to?.key === customerId;
}

/** The string values of personal fields in `value`, to take out of free text (a dead letter's reason quoting them). */
function personalStrings(value: unknown, found: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 64 || value === null || typeof value !== 'object') return found;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if ((PERSONAL_EVENT_FIELDS as readonly string[]).includes(k)) collectStrings(v, found, depth + 1);
    else personalStrings(v, found, depth + 1);
  }
  return found;
}

function collectStrings(value: unknown, found: Set<string>, depth: number): void {
  if (depth > 64) return;
  if (typeof value === 'string' && value.length >= 3 && value !== ERASED) found.add(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, found, depth + 1);
}

function scrubText(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  // Longest first, so a name inside an address does not leave the rest of the address behind.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(s).join(ERASED).split(JSON.stringify(s).slice(1, -1)).join(ERASED);
  }
  return out;
}

/** The failure texts BullMQ keeps in a job's hash (`failedReason`, `stacktrace`), as stored. */
async function failureFields(redis: Redis, queue: Queue, job: Job): Promise<Record<string, string>> {
  if (job.id === undefined) return {};
  const [failedReason, stacktrace] = await redis.hmget(queue.toKey(job.id), 'failedReason', 'stacktrace');
  const fields: Record<string, string> = {};
  if (failedReason) fields['failedReason'] = failedReason;
  if (stacktrace) fields['stacktrace'] = stacktrace;
  return fields;
}

/** What {@link redactQueuedCopies} did. */
export interface QueuedCopiesReport {
  /** Jobs of the customer's entities read, and those whose data held personal fields (now redacted). */
  readonly jobsRead: number;
  readonly jobsRedacted: number;
  /** Dead letters naming the customer, and those redacted. */
  readonly deadLetters: number;
  readonly deadLettersRedacted: number;
}

/** Reads the jobs of one queue that name the customer. */
async function jobsOf(
  queue: Queue,
  customerId: string,
  match: (data: unknown) => boolean = (d) => namesCustomer(d, customerId),
  states: readonly (typeof DEAD_LETTER_STATES)[number][] = JOB_STATES,
): Promise<Job[]> {
  const jobs = await queue.getJobs([...states], 0, -1);
  return jobs.filter((job): job is Job => job !== undefined && job !== null && match(job.data));
}

/** The dead letters whose message was to one of the customer's entities. */
export async function customerDeadLetters(redis: Redis, keys: RedisKeys, customerId: string): Promise<Job[]> {
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis, prefix: keys.prefix });
  dlq.on('error', () => undefined);
  try {
    return await jobsOf(dlq, customerId, (d) => namesCustomer((d as { data?: unknown } | null)?.data, customerId), DEAD_LETTER_STATES);
  } finally {
    await dlq.close();
  }
}

/**
 * Redacts every personal field ({@link redactPersonal}) in the data of the customer's finished jobs
 * in its partition queues (a failed job's `failedReason` and stack traces too, where they quote a
 * personal value) and in its dead letters (their reasons too).
 */
export async function redactQueuedCopies(redis: Redis, keys: RedisKeys, customerId: string, partitions: number): Promise<QueuedCopiesReport> {
  let jobsRead = 0;
  let jobsRedacted = 0;
  for (const name of customerQueues(keys, customerId, partitions)) {
    const queue = new Queue(name, { connection: redis, prefix: keys.prefix });
    queue.on('error', () => undefined);
    try {
      for (const job of await jobsOf(queue, customerId)) {
        jobsRead++;
        const { value, redacted } = redactPersonal(job.data);
        if (redacted === 0) continue;
        // A failed job (a dead-lettered one fails with its reason) may quote a personal value in
        // its failedReason and stack traces: taken out like a dead letter's reason. Before the
        // data, which holds the values to look for.
        const secrets = personalStrings(job.data);
        const failed = await failureFields(redis, queue, job);
        const scrubbed = Object.entries(failed).filter(([, text]) => scrubText(text, secrets) !== text);
        if (scrubbed.length > 0) await redis.hset(queue.toKey(job.id!), Object.fromEntries(scrubbed.map(([field, text]) => [field, scrubText(text, secrets)])));
        await job.updateData(value);
        jobsRedacted++;
      }
    } finally {
      await queue.close();
    }
  }
  let deadLettersRedacted = 0;
  const letters = await customerDeadLetters(redis, keys, customerId);
  for (const letter of letters) {
    const data = letter.data as { data?: unknown; reason?: unknown } & Record<string, unknown>;
    const secrets = personalStrings(data.data);
    const { value, redacted } = redactPersonal(data.data);
    if (redacted === 0) continue;
    // The letter's own `reason` is why it was dead-lettered (kept), minus any personal value it quotes.
    await letter.updateData({ ...data, data: value, ...(typeof data.reason === 'string' ? { reason: scrubText(data.reason, secrets) } : {}) });
    deadLettersRedacted++;
  }
  return { jobsRead, jobsRedacted, deadLetters: letters.length, deadLettersRedacted };
}
