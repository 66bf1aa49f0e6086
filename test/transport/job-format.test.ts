import { describe, expect, it } from 'vitest';
import { checkJob } from '../../src/transport/bullmq/job-format.ts';

const to = { entity: 'Billing', key: 'customer-1' };

describe('the job format, checked at the door', () => {
  it('accepts an entity cast, its id defaulting to the job id', () => {
    expect(checkJob({ v: 1, env: { t: 'cast', to, event: { type: 'Paid' } } }, 'job-1')).toEqual({
      ok: true,
      id: 'job-1',
      envelope: { t: 'cast', to, event: { type: 'Paid' } },
    });
    expect(checkJob({ v: 1, id: 'm-1', env: { t: 'info', to, event: { type: 'Paid' } } }, 'job-1')).toMatchObject({ ok: true, id: 'm-1' });
  });

  it("accepts XState's route event, the one xstate.* event meant to come from outside", () => {
    expect(checkJob({ v: 1, env: { t: 'cast', to, event: { type: 'xstate.route', to: '#review' } } }, 'j').ok).toBe(true);
  });

  it('accepts every envelope kind a node sends', () => {
    const pid = '<n1.4>';
    const caller = { node: 'n1', ref: 'n1#3' };
    for (const env of [
      { t: 'call', to, from: caller, event: { type: 'get' } },
      { t: 'reply', to: caller, value: 1 },
      { t: 'exit', to: pid, from: '<n2.1>', reason: 'normal', linked: true },
      { t: 'down', to: caller, ref: 'r', pid, reason: 'noproc' },
      { t: 'link', to: pid, from: '<n2.1>' },
      { t: 'monitor', to: pid, from: caller, ref: 'r' },
      { t: 'demonitor', to: pid, from: '<n2.1>', ref: 'r' },
    ]) {
      expect(checkJob({ v: 1, env }, 'j').ok, JSON.stringify(env)).toBe(true);
    }
  });

  it.each([
    [null, 'data must be a JSON object'],
    ['a string', 'data must be a JSON object'],
    [[1], 'data must be a JSON object'],
    [{ env: {} }, 'unsupported job format version undefined'],
    [{ v: 2, env: {} }, 'unsupported job format version 2'],
    [{ v: 1, id: '', env: {} }, 'id must be a string of 1 to 512 characters'],
    [{ v: 1, env: null }, 'env: must be an object'],
    [{ v: 1, env: { t: 'shout', to } }, 'env: t must be one of cast, info, call'],
    [{ v: 1, env: { t: 'cast', to, event: { nope: 1 } } }, 'env: event.type must be a non-empty string'],
    [{ v: 1, env: { t: 'cast', to, event: { type: 'xstate.after.1000.x' } } }, 'env: event.type must be a non-empty string'],
    [{ v: 1, env: { t: 'cast', to, event: { type: 'xstate.route.x' } } }, 'env: event.type must be a non-empty string'],
    [{ v: 1, env: { t: 'cast', to: { entity: 'a:b', key: 'k' }, event: { type: 'x' } } }, 'env: invalid entity address: entity must be a kind name'],
    [{ v: 1, env: { t: 'cast', to: { entity: 'A', key: 'k\u0000' }, event: { type: 'x' } } }, 'env: invalid entity address: key must not contain control characters'],
    [{ v: 1, env: { t: 'cast', to: 42, event: { type: 'x' } } }, 'env: to must be a pid, a name'],
    [{ v: 1, env: { t: 'cast', to, from: 'nobody', event: { type: 'x' } } }, 'env: from must be a pid'],
    [{ v: 1, env: { t: 'call', to, event: { type: 'x' } } }, 'env: from must be the caller { node, ref }'],
    [{ v: 1, env: { t: 'reply', to: 'n1', value: 1 } }, 'env: to must be the caller { node, ref }'],
  ])('refuses %j, naming the problem', (data, problem) => {
    const checked = checkJob(data, 'job-1');
    expect(checked.ok).toBe(false);
    expect((checked as { problem: string }).problem).toContain(problem);
  });
});
