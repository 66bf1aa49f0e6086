/**
 * The producer's door (`GovernorProducer.send`, what `governor enqueue` and library callers use):
 * data BullMQ cannot serialize, or should not store, is refused with a named error before any job
 * is written, instead of a `RangeError` from deep inside `Queue.add`.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidEntityAddressError } from '../../src/runtime/entity.ts';
import { GovernorProducer, type OutboundMessage } from '../../src/transport/bullmq/index.ts';
import { checkJob, checkJobDataLimits, InvalidJobDataError, MAX_JOB_BYTES, MAX_JOB_DEPTH } from '../../src/transport/bullmq/job-format.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const nested = (depth: number): { type: string; [field: string]: unknown } => {
  let value: { type: string; [field: string]: unknown } = { type: 'apply' };
  for (let i = 0; i < depth; i++) value = { type: 'apply', nested: value };
  return value;
};

describe('job data limits (pure)', () => {
  it('refuses what is too deep, too big, cyclic or not JSON, without overflowing the stack', () => {
    expect(checkJobDataLimits({ v: 1, env: nested(10) })).toBeUndefined();
    expect(checkJobDataLimits(nested(100_000))).toMatch(`deeper than ${MAX_JOB_DEPTH}`);
    const cycle: Record<string, unknown> = { type: 'apply' };
    cycle['self'] = cycle;
    expect(checkJobDataLimits(cycle)).toMatch(/deeper|itself/);
    expect(checkJobDataLimits({ type: 'apply', blob: 'x'.repeat(MAX_JOB_BYTES) })).toMatch(/bytes of JSON; the limit is/);
    expect(checkJobDataLimits({ type: 'apply', n: 1n })).toMatch(/not JSON data/);
    expect(checkJobDataLimits({ type: 'apply', items: Array.from({ length: 200_000 }, () => 0) })).toMatch(/more than \d+ values/);
    // Shared sub-objects: a DAG that would be 2^40 values unfolded is cut by the value count.
    let dag: unknown = 0;
    for (let i = 0; i < 40; i++) dag = { a: dag, b: dag };
    expect(checkJobDataLimits(dag)).toMatch(/more than \d+ values/);
  });
});

describe('message ids that are not well-formed Unicode', () => {
  it('are refused by the job check: "m-\\ud800" and "m-\\udfff" would be one id in Redis', () => {
    const env = { t: 'cast', to: { entity: 'Ledger', key: 'k' }, event: { type: 'apply' } };
    expect(Buffer.from('m-\ud800').equals(Buffer.from('m-\udfff'))).toBe(true);
    for (const id of ['m-\ud800', 'm-\udfff', '\udc00m']) {
      expect(checkJob({ v: 1, id, env }, undefined)).toEqual({ ok: false, problem: 'id must be well-formed Unicode (no lone UTF-16 surrogates)' });
      expect(checkJob({ v: 1, env }, id)).toMatchObject({ ok: false });
    }
    expect(checkJob({ v: 1, id: 'm-\ud83d\ude00', env }, undefined)).toMatchObject({ ok: true, id: 'm-\ud83d\ude00' });
  });
});

describe('GovernorProducer refuses over-limit messages before BullMQ', () => {
  let redis: RedisHandle;
  let client: Redis;
  let producer: GovernorProducer;
  const prefix = () => `${redis.prefix}:{limits}`;

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    producer = await GovernorProducer.connect({ url: redis.url, prefix: prefix(), partitions: 2 });
  });
  afterAll(async () => {
    await producer?.close();
    await redis?.stop();
  });

  const to = { entity: 'Orchestrator', key: 'cust-1' };

  it.each([
    ['5,000 levels deep (a RangeError inside Queue.add before)', nested(5_000), /nested deeper than 64 levels/],
    ['2 MiB', { type: 'apply', blob: 'x'.repeat(2 * MAX_JOB_BYTES) }, /bytes of JSON; the limit is 1048576/],
    ['a bigint', { type: 'apply', amount: 10n }, /not JSON data/],
    // JSON would store other data than was sent: {} for a Map, a string for a Date, null for NaN.
    ['a Map (stored as {})', { type: 'apply', payload: new Map([['a', 1]]) }, /not JSON data \(a Map/],
    ['a Date (stored as a string)', { type: 'apply', at: new Date(0) }, /not JSON data \(a Date/],
    ['NaN (stored as null)', { type: 'apply', amount: Number.NaN }, /not JSON data \(NaN/],
    ['a function (dropped)', { type: 'apply', run: () => 1 }, /not JSON data \(a function/],
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    ['an array hole (stored as null)', { type: 'apply', list: [1, , 3] }, /undefined outside an object member/],
  ] as const)('%s: an InvalidJobDataError naming the message, and nothing written', async (_, event, message) => {
    const error = await producer.send(to, event, { id: 'too-much' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobDataError);
    expect((error as InvalidJobDataError).code).toBe('INVALID_JOB_DATA');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch('message too-much to Orchestrator/cust-1');
    expect(await client.keys(`${prefix()}*`)).toEqual([]);
  });

  it.each([
    ['empty (BullMQ would make up its own id, and a retry would enqueue twice)', ''],
    ['an integer\'s spelling (BullMQ throws "Custom Id cannot be integers")', '-51'],
    ['with ":"', 'a:b'],
    ['over 512 characters', 'm'.repeat(513)],
  ])('refuses a message id %s with an InvalidJobDataError, writing nothing', async (_, id) => {
    const error = await producer.send(to, { type: 'apply' }, { id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobDataError);
    expect((error as Error).message).toMatch(/message id .* must/);
    expect(await client.keys(`${prefix()}*`)).toEqual([]);
  });

  it('refuses a message id with a lone surrogate, writing nothing', async () => {
    const error = await producer.send(to, { type: 'apply' }, { id: 'm-\ud800' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobDataError);
    expect((error as Error).message).toMatch(/lone UTF-16 surrogate/);
    expect(await client.keys(`${prefix()}*`)).toEqual([]);
  });

  it('fuzzed: sends, or throws a TypeError / named error of its own with nothing written; never a stray exception', async () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'type', 'entity', 'key'));
    const anything = fc.anything({ key, withBigInt: true, withDate: true, withMap: true, withNullPrototype: true, withBoxedValues: true, maxDepth: 3 });
    const address = fc.oneof(
      anything,
      fc.record({ entity: fc.oneof(fc.constantFrom('Orchestrator', 'Billing', '__proto__', 'a:b', 'A/b', ''), anything), key: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), anything) }),
    );
    const message = fc.oneof(anything, fc.record({ type: fc.oneof(fc.constantFrom('apply', '*', 'xstate.init', ''), anything) }, { requiredKeys: [] }), fc.record({ type: fc.constant('apply'), payload: anything }));
    const id = fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('a:b', 'm-\ud800', '')), { nil: undefined });
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(address, message, id, async (to, event, maybeId) => {
        const before = await client.dbsize();
        const msg = { to, event, id: maybeId === undefined ? undefined : `${maybeId}-${++serial}` } as unknown as OutboundMessage;
        try {
          await producer.sendMany([msg]);
        } catch (error) {
          const named = error instanceof InvalidJobDataError || error instanceof InvalidEntityAddressError;
          // The producer's own TypeErrors say what a message or address must be.
          const own = error instanceof TypeError && /^a message must be/.test(error.message);
          expect(named || own, String(error)).toBe(true);
          expect(await client.dbsize()).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('sends nothing of a batch with one bad message, and then sends a good one', async () => {
    const before = await client.keys(`${prefix()}*`);
    const error = await producer
      .sendMany([
        { to, event: { type: 'apply' }, id: 'ok-1' },
        { to, event: nested(MAX_JOB_DEPTH + 1), id: 'deep-1' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobDataError);
    expect((await client.keys(`${prefix()}*`)).sort()).toEqual(before.sort());

    await producer.send(to, nested(MAX_JOB_DEPTH - 5), { id: 'ok-2' });
    const queue = producer.queueOf(to);
    expect(await client.exists(`${prefix()}:${queue}:${producer.jobIdOf(to, 'ok-2')}`)).toBe(1);
  });

  it('two entities sharing a partition queue may use the same message id: neither is dropped as the other\'s duplicate', async () => {
    const other = Array.from({ length: 100 }, (_, i) => ({ entity: 'Orchestrator', key: `cust-${i + 2}` })).find((a) => producer.queueOf(a) === producer.queueOf(to))!;
    // Crafted so that naive "<key>/<id>" job ids would meet: keys with "/" are percent-encoded.
    const slashed = { entity: 'Orchestrator', key: 'cust-1/x' };
    await producer.sendMany([
      { to, event: { type: 'apply' }, id: 'invoice-1' },
      { to: other, event: { type: 'apply' }, id: 'invoice-1' },
      { to, event: { type: 'apply' }, id: 'x/invoice-1' },
      { to: slashed, event: { type: 'apply' }, id: 'invoice-1' },
    ]);
    const jobIds = [producer.jobIdOf(to, 'invoice-1'), producer.jobIdOf(other, 'invoice-1'), producer.jobIdOf(to, 'x/invoice-1'), producer.jobIdOf(slashed, 'invoice-1')];
    expect(new Set(jobIds).size).toBe(4);
    for (const [i, jobId] of jobIds.entries()) {
      const queue = producer.queueOf([to, other, to, slashed][i]!);
      expect(await client.exists(`${prefix()}:${queue}:${jobId}`), jobId).toBe(1);
    }
  });
});
