/**
 * GOVERNOR_TEST_CLOCK, the test-only clock of node processes: how the variable and the clock
 * commands are read, that the commands moving time exist only on a node with a test clock, that
 * moving it fires the node's timers, and that no manifest ever carries it.
 */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { SimulatedClock, TestClock, createNode, startSupervisor, worker } from '../../src/index.ts';
import { LocalAdmin } from '../../src/cli/admin.ts';
import { needsSignature, READ_COMMANDS } from '../../src/cli/admin-protocol.ts';
import { NODE_ENVIRONMENT, testOnlyVariablesAmong } from '../../src/cli/node-environment.ts';
import { adminCommands, createEvaluator } from '../../src/cli/repl.ts';
import { clockOperations, parseDuration, parseInstant, testClockStart, TestClockError } from '../../src/cli/test-clock.ts';
import { PROVIDERS, renderManifests, TIERS } from '../../src/deployment/index.ts';
import { governor } from './governor-command.ts';

const START = Date.parse('2025-01-06T09:00:00Z');
const DAY = 86_400_000;

/** A trial that ends by a 14-day state timeout, on a node whose clock is a test clock (or not). */
const trial = setup({}).createMachine({
  id: 'trial',
  initial: 'Trial',
  states: {
    Trial: { meta: { stateTimeout: { ms: 14 * DAY, event: 'trial_ended' } }, on: { trial_ended: 'Active' } },
    Active: {},
  },
});

function system(withTestClock: boolean) {
  const base = new SimulatedClock(0);
  const testClock = withTestClock ? new TestClock(START, base) : undefined;
  const node = createNode({ name: 'n1', clock: testClock ?? base });
  const root = startSupervisor(node, { strategy: 'one_for_one', intensity: 5, children: [worker('trial', trial, { name: 'trial' })] }, { name: 'root' });
  const admin = new LocalAdmin(node, () => root, undefined, {}, testClock);
  const commands = adminCommands(admin, () => {});
  return { node, base, commands, evaluate: createEvaluator(commands, { timeoutMs: 500 }) };
}

describe('reading GOVERNOR_TEST_CLOCK and the clock commands’ arguments', () => {
  it('takes an ISO 8601 instant with a time zone, and nothing else', () => {
    expect(parseInstant('2025-01-06T09:00:00Z')).toBe(START);
    expect(parseInstant('2025-01-06T10:30:00+01:30')).toBe(START);
    expect(parseInstant('2025-01-06T09:00Z')).toBe(START);
    expect(parseInstant('2025-01-06T09:00:00.5Z')).toBe(START + 500);
    for (const bad of ['2025-02-30T09:00:00Z', '2025-01-06T24:00:00Z', '2025-01-06T09:00:00', '2025-01-06', 'tomorrow', '2025-01-06T09:00:00+25:00', '']) {
      expect(parseInstant(bad), bad).toBeUndefined();
    }
  });

  it('unset or empty is no test clock; a value that is not an instant is refused, naming the variable', () => {
    expect(testClockStart({})).toBeUndefined();
    expect(testClockStart({ GOVERNOR_TEST_CLOCK: '' })).toBeUndefined();
    expect(testClockStart({ GOVERNOR_TEST_CLOCK: '2025-01-06T09:00:00Z' })).toBe(START);
    expect(() => testClockStart({ GOVERNOR_TEST_CLOCK: '6 Jan 2025' })).toThrow(/GOVERNOR_TEST_CLOCK: "6 Jan 2025" is not an ISO 8601 instant/);
  });

  it('takes a duration as whole milliseconds or <n><unit>, and refuses negative, fractional, huge or unknown ones', () => {
    expect(parseDuration(1_500)).toBe(1_500);
    expect(parseDuration('14d')).toBe(14 * DAY);
    expect(parseDuration('36h')).toBe(36 * 3_600_000);
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    for (const bad of [-1, 0.5, Number.NaN, Infinity, '14 days', '-1d', '1e3', '11000d', null, {}]) {
      expect(() => parseDuration(bad), String(bad)).toThrow(TestClockError);
    }
  });
});

describe('the clock commands on a node', () => {
  it('a node with a test clock: clock_advance fires the timers due (a 14-day trial ends), clock_set moves to an instant', async () => {
    const { evaluate, node } = system(true);
    expect(await evaluate('clock()')).toEqual({ ok: true, value: { node: 'n1', now: '2025-01-06T09:00:00.000Z', test: true } });
    expect(await evaluate("get_state('trial')")).toMatchObject({ ok: true, value: { value: 'Trial' } });

    expect(await evaluate("clock_advance('13d')")).toEqual({ ok: true, value: { node: 'n1', now: '2025-01-19T09:00:00.000Z', test: true, fired: 0 } });
    expect(await evaluate("get_state('trial')")).toMatchObject({ value: { value: 'Trial' } });
    expect(await evaluate("clock_set('2025-01-20T09:00:00Z')")).toEqual({ ok: true, value: { node: 'n1', now: '2025-01-20T09:00:00.000Z', test: true, fired: 1 } });
    expect(await evaluate("get_state('trial')")).toMatchObject({ value: { value: 'Active' } });
    expect(node.clock.now()).toBe(START + 14 * DAY);
  });

  it('never moves back, and says so with its code', async () => {
    const { evaluate } = system(true);
    const back = await evaluate("clock_set('2025-01-01T00:00:00Z')");
    expect(back).toMatchObject({ ok: false, error: expect.stringMatching(/^error TEST_CLOCK_BACKWARDS: .*only moves forward/) });
    expect(await evaluate('clock_set(12345)')).toMatchObject({ ok: false, error: expect.stringMatching(/TEST_CLOCK_INVALID/) });
  });

  it('a node without one has no commands that move time, and its clock() says it is not a test clock', async () => {
    const { evaluate, commands } = system(false);
    expect(Object.keys(commands)).toContain('clock');
    expect(Object.keys(commands)).not.toContain('clock_advance');
    expect(Object.keys(commands)).not.toContain('clock_set');
    expect(await evaluate("clock_advance('14d')")).toMatchObject({ ok: false, error: expect.stringMatching(/clock_advance is not defined/) });
    expect(await evaluate('clock()')).toMatchObject({ ok: true, value: { node: 'n1', test: false } });
    expect(await evaluate("get_state('trial')")).toMatchObject({ value: { value: 'Trial' } });
  });

  it('over the admin protocol, a node without a test clock refuses them (TEST_CLOCK_OFF), and they must be signed', async () => {
    await expect(clockOperations('n2', new SimulatedClock(0), undefined).clock_advance('1d')).rejects.toMatchObject({ code: 'TEST_CLOCK_OFF' });
    await expect(clockOperations('n2', new SimulatedClock(0), undefined).clock_set('2025-01-01T00:00:00Z')).rejects.toThrow(/only on a node started with GOVERNOR_TEST_CLOCK/);
    expect(READ_COMMANDS.has('clock')).toBe(true);
    expect(needsSignature('clock_advance')).toBe(true);
    expect(needsSignature('clock_set')).toBe(true);
  });
});

describe('never in a deployment', () => {
  it('is declared test-only, and no rendered manifest sets it (for every provider and tier)', () => {
    expect(NODE_ENVIRONMENT.find((variable) => variable.name === 'GOVERNOR_TEST_CLOCK')).toMatchObject({ testOnly: true, required: false, secret: false });
    expect(testOnlyVariablesAmong(['REDIS_URL', 'GOVERNOR_TEST_CLOCK'])).toEqual(['GOVERNOR_TEST_CLOCK']);
    for (const provider of PROVIDERS) {
      for (const tier of TIERS) {
        const manifests = renderManifests({ provider, tier, image: 'registry.example.com/governor:1.2.3' });
        const names = [...Object.keys(manifests.configMap.data ?? {}), ...manifests.deployment.spec!.template.spec!.containers.flatMap((c) => (c.env ?? []).map((e) => e.name))];
        expect(names.length).toBeGreaterThan(3);
        expect(testOnlyVariablesAmong(names), `${provider}/${tier}`).toEqual([]);
      }
    }
  });
});

describe('governor start with GOVERNOR_TEST_CLOCK (the binary)', () => {
  it('refuses a value that is not an instant: exit 2, naming the variable, nothing started', () => {
    const run = governor(['start', '--embedded'], { input: '', env: { GOVERNOR_TEST_CLOCK: '2025-02-30T09:00:00Z' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('GOVERNOR_TEST_CLOCK: "2025-02-30T09:00:00Z" is not an ISO 8601 instant');
    expect(run.stdout).toBe('');
  });

  it('says loudly that it runs on a test clock, and moves it on clock_advance', () => {
    const run = governor(['start', '--embedded'], { input: "clock_advance('2d')\n", env: { GOVERNOR_TEST_CLOCK: '2025-01-06T09:00:00Z', GOVERNOR_LOG_LEVEL: 'warn' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^TEST CLOCK: GOVERNOR_TEST_CLOCK is set, so this node's time started at 2025-01-06T09:00:00.000Z .*never in production/m);
    expect(run.stderr).toMatch(/"level":40.*TEST CLOCK/);
    expect(run.stdout).toMatch(/now: '2025-01-08T09:00:0\d\.\d{3}Z', test: true/);
  });
});
