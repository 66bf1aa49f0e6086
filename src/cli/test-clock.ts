import { GovernorError } from '../errors.ts';
import { systemClock, TestClock, type Clock } from '../runtime/clock.ts';
import { nodeVariable } from './node-environment.ts';

/**
 * The test clock of `governor start` (and of `governor enqueue`): `GOVERNOR_TEST_CLOCK=<ISO
 * instant>` runs the process on a {@link TestClock} starting at that instant, and a node started
 * with it takes `clock_advance(duration)` / `clock_set(instant)` over the admin protocol (signed,
 * as every mutating command), which fire every timer falling due, in deadline order. Without the
 * variable none of this exists: the commands are refused, the clock is the system's.
 *
 * Only what a node decides with its runtime clock moves with it (timeouts, the "occurredAt at
 * most 1 h ahead" check, commit times). Leases, heartbeats, the admin protocol's ±30 s window,
 * rate limits and deadlines of I/O stay on real time: they guard processes, not business.
 */

export const TEST_CLOCK_ENV = 'GOVERNOR_TEST_CLOCK';

export type TestClockCode = 'TEST_CLOCK_OFF' | 'TEST_CLOCK_INVALID' | 'TEST_CLOCK_BACKWARDS';

/** A clock command refused: the node has no test clock, the argument is not a time, or it goes back. */
export class TestClockError extends GovernorError {
  declare readonly code: TestClockCode;
  constructor(code: TestClockCode, message: string) {
    super(code, message);
  }
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 instant with a `Z` or an offset (`2025-01-06T09:00:00Z`), checked field by field (a
 * 30 February is refused, where `Date.parse` would roll it into March); undefined when it is not one.
 */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = Number(m[6] ?? 0);
  const millis = Number((m[7] ?? '0').padEnd(3, '0'));
  if (year < 1000 || Number(m[10] ?? 0) > 23 || Number(m[11] ?? 0) > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const d = new Date(local);
  // Date.UTC rolls over (30 February → 2 March, 24:00 → the next day): a rolled field was not a time.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || d.getUTCHours() !== hour || d.getUTCMinutes() !== minute || d.getUTCSeconds() !== second) return undefined;
  const offset = m[8] === 'Z' ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  return local - offset;
}

/**
 * The start instant of `GOVERNOR_TEST_CLOCK`, undefined when it is unset or empty; a value that is
 * not an instant throws, naming the variable and the form it wants (the command exits 2).
 */
export function testClockStart(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = nodeVariable('GOVERNOR_TEST_CLOCK', env);
  if (value === undefined) return undefined;
  const start = parseInstant(value);
  if (start === undefined) {
    throw new TestClockError('TEST_CLOCK_INVALID', `${TEST_CLOCK_ENV}: ${JSON.stringify(value)} is not an ISO 8601 instant with a time zone; give e.g. 2025-01-06T09:00:00Z, or unset it (it is for tests only)`);
  }
  return start;
}

/** A {@link TestClock} when `GOVERNOR_TEST_CLOCK` is set, else undefined. */
export function testClockFromEnv(env: NodeJS.ProcessEnv = process.env): TestClock | undefined {
  const start = testClockStart(env);
  return start === undefined ? undefined : new TestClock(start);
}

/** The clock of a short-lived command (`governor enqueue`): the test clock's instant when set, else the system's. */
export function commandClock(env: NodeJS.ProcessEnv = process.env): Clock {
  return testClockFromEnv(env) ?? systemClock;
}

/** The warning a node started on the test clock logs, and the words its banner adds. */
export function testClockNotice(clock: TestClock): string {
  return `TEST CLOCK: ${TEST_CLOCK_ENV} is set, so this node's time started at ${new Date(clock.start).toISOString()} and moves with clock_advance/clock_set; for tests only, never in production`;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest single move: ten years (a typo of a few more zeros should not end the test's world). */
export const MAX_ADVANCE_MS = 10 * 366 * 86_400_000;

/** A duration: milliseconds as a number, or a string `<n><unit>` with unit ms, s, m, h or d (`'14d'`, `'36h'`). */
export function parseDuration(value: unknown): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
    if (m) ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > MAX_ADVANCE_MS || !Number.isInteger(ms)) {
    throw new TestClockError('TEST_CLOCK_INVALID', `clock_advance takes a duration: whole milliseconds (a number) or a string such as '14d', '36h', '90m', '30s', '500ms', at most ten years; got ${JSON.stringify(value) ?? String(value)}`);
  }
  return ms;
}

/** What the clock commands answer: the node, its time after the command, and how many timers the move fired. */
export interface ClockReading {
  readonly node: string;
  readonly now: string;
  readonly test: boolean;
  readonly fired?: number;
}

/**
 * The clock commands of one node. `clock()` reads (any node); `clock_advance` and `clock_set`
 * exist only on a node with a test clock and refuse with `TEST_CLOCK_OFF` elsewhere.
 */
export function clockOperations(node: string, clock: Clock, testClock: TestClock | undefined) {
  const reading = (fired?: number): ClockReading => ({ node, now: new Date(clock.now()).toISOString(), test: testClock !== undefined, ...(fired === undefined ? {} : { fired }) });
  const test = (command: string): TestClock => {
    if (testClock) return testClock;
    throw new TestClockError('TEST_CLOCK_OFF', `${command} exists only on a node started with ${TEST_CLOCK_ENV} (a test-only setting); node ${node} runs on the system clock`);
  };
  return {
    clock: async (): Promise<ClockReading> => reading(),
    clock_advance: async (duration: unknown): Promise<ClockReading> => {
      const clock = test('clock_advance');
      return reading(clock.advance(parseDuration(duration)));
    },
    clock_set: async (instant: unknown): Promise<ClockReading> => {
      const clock = test('clock_set');
      const at = typeof instant === 'string' ? parseInstant(instant) : undefined;
      if (at === undefined) throw new TestClockError('TEST_CLOCK_INVALID', `clock_set takes an ISO 8601 instant with a time zone, e.g. '2025-02-03T09:00:00Z'; got ${JSON.stringify(instant) ?? String(instant)}`);
      if (at < clock.now()) {
        throw new TestClockError('TEST_CLOCK_BACKWARDS', `clock_set(${JSON.stringify(instant)}) would move node ${node}'s clock back from ${new Date(clock.now()).toISOString()}: a test clock only moves forward`);
      }
      return reading(clock.set(at));
    },
  };
}
