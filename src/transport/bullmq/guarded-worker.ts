import { createRedisBackend, Worker, type BackendFactory, type Job, type JobJson, type Processor, type RedisQueueBackend, type WorkerOptions } from 'bullmq';
import { checkJob, MAX_JOB_BYTES, MAX_JOB_DEPTH, type CheckedJob } from './job-format.ts';

/** Jobs whose stored fields could not be parsed, with the parser's complaint. */
const unreadable = new WeakMap<Job, string>();

/**
 * A BullMQ `Worker` that hands every fetched job to its processor, even one whose stored hash was
 * written to Redis by something other than BullMQ. BullMQ parses a fetched job before any
 * processor runs: `opts`, `progress` and `parent` in its Redis backend (`rawToJobJson`, on
 * `moveToActive` and on the fetch-next of `moveToFinished` / `moveToDelayed`), `data` in
 * `Job.fromJSON`. An exception there escapes its fetch loop, and the job stays active and locked,
 * blocking a partition at concurrency 1 until the stalled check gives it up (and then again).
 *
 * Here, such a job is built anyway, marked unreadable with what was wrong, so
 * {@link checkFetchedJob} names the problem and the processor dead-letters it like any other bad
 * job, and the jobs behind it run:
 * 1. the backend's fetching commands are wrapped (through BullMQ's `backendFactory` hook): a raw
 *    `opts` that is not a JSON object, a `progress` or `parent` that is not JSON, is replaced by
 *    BullMQ's default before BullMQ parses it, and remembered by job id. A bad `parent` is also
 *    removed from the stored hash: BullMQ's completion script decodes it too, and would fail, so
 *    the job could never be completed (its text is kept in the dead letter's reason);
 * 2. `createJob` refuses, before `JSON.parse` sees it, `data` over {@link MAX_JOB_BYTES} or nested
 *    deeper than {@link MAX_JOB_DEPTH} (counted by a scan of the text, which no depth can
 *    overflow): such a job is built with the first {@link DATA_PREVIEW_LENGTH} characters of its
 *    text as `data`, so neither parsing, validating nor dead-lettering it (which serializes the
 *    data) costs its size or recurses into it;
 * 3. `createJob` builds a job whose `data` is not JSON with its raw text as `data`, and attaches
 *    the remembered problems of step 1.
 *
 * @internal
 */
export class GuardedWorker extends Worker {
  /** Problems of step 1, by job id, until the job is built (immediately after, in the same fetch). */
  readonly #rawProblems: Map<string, string>;

  constructor(name: string, processor: Processor, opts: WorkerOptions) {
    const rawProblems = new Map<string, string>();
    super(name, processor, opts, guardedBackend(rawProblems));
    this.#rawProblems = rawProblems;
  }

  protected override createJob(json: JobJson, jobId: string): Job {
    const problems: string[] = [];
    const raw = this.#rawProblems.get(jobId);
    if (raw !== undefined) {
      this.#rawProblems.delete(jobId);
      problems.push(raw);
    }
    let job: Job;
    const oversize = typeof json.data === 'string' ? dataProblem(json.data) : undefined;
    if (oversize !== undefined) {
      job = super.createJob({ ...json, data: '{}' }, jobId);
      job.data = preview(json.data as string);
      problems.unshift(oversize);
      unreadable.set(job, problems.join('; '));
      return job;
    }
    try {
      job = super.createJob(json, jobId);
    } catch (error) {
      job = super.createJob({ ...json, data: '{}' }, jobId);
      // The payload exactly as it is in Redis, so the dead letter shows what came.
      job.data = json.data as unknown;
      problems.unshift(`data is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (problems.length > 0) unreadable.set(job, problems.join('; '));
    return job;
  }
}

/** How much of a refused oversize or over-deep payload its dead letter keeps. */
export const DATA_PREVIEW_LENGTH = 1_024;

const preview = (text: string): string => (text.length > DATA_PREVIEW_LENGTH ? `${text.slice(0, DATA_PREVIEW_LENGTH)}…` : text);

/** Why raw job data is refused before parsing (too big, too deep), or `undefined`. */
function dataProblem(text: string): string | undefined {
  // A UTF-8 character is at most 3 bytes per UTF-16 code unit: count exactly only when it can matter.
  if (text.length > MAX_JOB_BYTES || (text.length * 3 > MAX_JOB_BYTES && Buffer.byteLength(text, 'utf8') > MAX_JOB_BYTES)) {
    return `data is ${Buffer.byteLength(text, 'utf8')} bytes of JSON; the limit is ${MAX_JOB_BYTES} (refused before parsing; the dead letter keeps its first ${DATA_PREVIEW_LENGTH} characters)`;
  }
  if (nestedDeeperThan(text, MAX_JOB_DEPTH)) {
    return `data is nested deeper than ${MAX_JOB_DEPTH} levels (refused before parsing; the dead letter keeps its first ${DATA_PREVIEW_LENGTH} characters)`;
  }
  return undefined;
}

/** Whether JSON text opens more than `max` objects or arrays at once; a loop over the text, so no input can overflow the stack. */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The backend commands whose result carries a fetched job hash (`[fields, id, …]`). */
const FETCHING_COMMANDS: ReadonlySet<string> = new Set(['moveToActive', 'moveToFinished', 'moveToDelayed']);

/** BullMQ's Redis backend, with the job hashes its fetching commands return checked first. */
function guardedBackend(rawProblems: Map<string, string>): BackendFactory<RedisQueueBackend> {
  return (name, opts, options) => {
    const backend = createRedisBackend(name, opts, options);
    const execCommand = backend.execCommand.bind(backend);
    // Only this instance's method: every other queue and worker keeps BullMQ's own.
    backend.execCommand = (client, command, args) => {
      const result: unknown = execCommand(client, command, args);
      if (!FETCHING_COMMANDS.has(command) || !(result instanceof Promise)) return result;
      // Not an async callback: every fetch goes through here, and the common job needs no repair.
      return result.then((raw: unknown) => {
        const repaired = repairFetchedJob(raw, rawProblems);
        if (repaired?.parent !== true) return raw;
        return backend.client.then((client) => client.hdel(backend.toKey(repaired.id), 'parent')).then(() => raw);
      });
    };
    return backend;
  };
}

const parses = (text: string, object: boolean): boolean => {
  try {
    const value: unknown = JSON.parse(text);
    return !object || (typeof value === 'object' && value !== null);
  } catch {
    return false;
  }
};

/** The fields BullMQ's backend parses, what each must be, and what it reads when the field is absent. */
const PARSED_FIELDS: ReadonlyMap<string, { object: boolean; fallback: string; what: string }> = new Map([
  ['opts', { object: true, fallback: '{}', what: 'a JSON object' }],
  ['progress', { object: false, fallback: '0', what: 'JSON' }],
  ['parent', { object: true, fallback: '', what: 'a JSON object' }],
]);

/**
 * Step 1: in place, in the flat `[field, value, …]` array of a fetched job hash. Returns the job
 * id when something was repaired, and whether its stored `parent` must go.
 */
function repairFetchedJob(raw: unknown, rawProblems: Map<string, string>): { id: string; parent: boolean } | undefined {
  if (!Array.isArray(raw) || !Array.isArray(raw[0]) || typeof raw[1] !== 'string') return undefined;
  const fields = raw[0] as unknown[];
  const problems: string[] = [];
  let parent = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const rule = PARSED_FIELDS.get(String(fields[i]));
    const value = fields[i + 1];
    if (rule === undefined || typeof value !== 'string' || value === '' || parses(value, rule.object)) continue;
    problems.push(`${String(fields[i])} is not ${rule.what} (${JSON.stringify(value.slice(0, 200))})`);
    fields[i + 1] = rule.fallback;
    parent ||= fields[i] === 'parent';
  }
  if (problems.length === 0) return undefined;
  rawProblems.set(raw[1], problems.join('; '));
  return { id: raw[1], parent };
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
