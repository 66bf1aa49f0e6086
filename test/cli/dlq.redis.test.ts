import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { addDeadLetter } from '../../src/transport/bullmq/dead-letters.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor } from './governor-command.ts';

let redis: RedisHandle;
let partition: Queue;
let dlq: Queue;
/** The queue names a node uses (a partition's carries its hash tag: `{p.3}`). */
const keys = new RedisKeys('governor');
const P3 = keys.partitionQueue('3');

beforeAll(async () => {
  redis = await startRedis();
  partition = new Queue(keys.partitionQueue('3'), { connection: redis.client(), prefix: redis.prefix });
  dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix: redis.prefix });
});
afterAll(async () => {
  await partition?.close();
  await dlq?.close();
  await redis?.stop();
});

const args = () => ['--redis', redis.url, '--prefix', redis.prefix];

describe('governor dlq', () => {
  it('lists nothing on an empty dead-letter queue', () => {
    const run = governor(['dlq', 'list', ...args()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('no dead letters\n');
  });

  it('lists a dead letter with its reason, replays it into its queue with its message id, and it leaves the list', async () => {
    // A job as a node would have dead-lettered it: its data kept exactly as it came.
    const job = await partition.add('lifecycle', { v: 99, id: 'm-1', env: {} }, { jobId: 'm-1' });
    await job.remove();
    await addDeadLetter(dlq, job, 'unsupported job format version 99', 'node-a', Date.parse('2026-11-01T00:00:00Z'));

    const json = governor(['dlq', 'list', '--json', ...args()]);
    expect(json.code, json.stderr).toBe(0);
    const letters = JSON.parse(json.stdout) as { id: string; reason: string; queue: string; jobId: string; node: string; data: unknown }[];
    expect(letters).toEqual([expect.objectContaining({ id: `${P3}~m-1`, reason: 'unsupported job format version 99', queue: P3, jobId: 'm-1', node: 'node-a', data: { v: 99, id: 'm-1', env: {} } })]);

    const text = governor(['dlq', 'list', ...args()]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${P3}~m-1`);
    expect(text.stdout).toContain('2026-11-01T00:00:00.000Z');
    expect(text.stdout).toContain('unsupported job format version 99');

    const replay = governor(['dlq', 'replay', `${P3}~m-1`, ...args()]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`into ${P3}`);

    const waiting = await partition.getJobs(['waiting']);
    expect(waiting.map((j) => j.data as unknown)).toEqual([{ v: 99, id: 'm-1', env: {} }]);
    expect(governor(['dlq', 'list', '--json', ...args()]).stdout.trim()).toBe('[]');
  });

  it('replaying an unknown id exits 2', () => {
    const run = governor(['dlq', 'replay', 'p.0~nope', ...args()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no dead letter "p.0~nope"');
  });

  it('without a Redis URL exits 2 with the fix', () => {
    const run = governor(['dlq', 'list'], { env: { REDIS_URL: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('REDIS_URL');
  });

  it('with Redis unreachable exits 3', () => {
    const run = governor(['dlq', 'list', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code, run.stderr).toBe(3);
  });
});
