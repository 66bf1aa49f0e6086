import type { StopReport } from '../transport/bullmq/shutdown.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { nodeVariable, type NodeVariableName } from './node-environment.ts';
import { settledWithin } from '../runtime/retry.ts';

/** The environment variable bounding a node's stop, in ms. */
export const STOP_TIMEOUT_ENV = 'GOVERNOR_STOP_TIMEOUT_MS' satisfies NodeVariableName;

/** How long a stop may take unless GOVERNOR_STOP_TIMEOUT_MS says otherwise. @default 10 s */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** Telemetry's last batch after a hand-over gets this much at most: it must not hold the exit. */
const TELEMETRY_FLUSH_MS = 2_000;

/** GOVERNOR_STOP_TIMEOUT_MS, checked at start so a typo is not found at the first rolling update. */
export function stopTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = nodeVariable(STOP_TIMEOUT_ENV, env);
  if (raw === undefined) return DEFAULT_STOP_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 1) throw new CliError(`${STOP_TIMEOUT_ENV} must be a whole number of milliseconds ≥ 1, got "${raw}"`);
  return ms;
}

const seconds = (ms: number) => (ms < 1_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const partitionList = (ids: readonly string[]) => (ids.length === 1 ? `partition ${ids[0]}` : `partitions ${ids.join(', ')}`);

/** The line a node prints as it goes: to stdout when it handed over, else to stderr with what it left behind. */
export function stopMessage(name: string, report: StopReport): { stream: 'stdout' | 'stderr'; line: string } {
  if (report.handedOver) {
    const what = report.partitions.length === 0 ? 'no partitions to hand over' : `handed over ${report.partitions.length} partition${report.partitions.length === 1 ? '' : 's'}`;
    return { stream: 'stdout', line: `Governor cluster node "${name}" stopped (${report.signal}): ${what} in ${seconds(report.elapsedMs)}.` };
  }
  const why =
    report.failure === 'deadline'
      ? `the hand-over did not finish within ${STOP_TIMEOUT_ENV}=${report.deadlineMs} (is Redis down or frozen?)`
      : report.failure === 'second signal'
        ? 'a second signal cut the hand-over short'
        : `the hand-over failed: ${report.error instanceof Error ? report.error.message : String(report.error)}`;
  const left =
    report.unreleased.length === 0
      ? 'it may still hold leases, which expire as after a crash'
      : `${partitionList(report.unreleased)} not handed over: their leases expire as after a crash, then other nodes take them over`;
  return { stream: 'stderr', line: `governor: node "${name}" stopped after ${seconds(report.elapsedMs)} without a full hand-over: ${why}; ${left} (exit ${EXIT.stopIncomplete}).` };
}

/**
 * The `exit` of a `governor start` node's signal handlers: prints how the stop went, flushes the
 * last telemetry (bounded, and only after a hand-over: with Redis away it would only wait), and
 * exits 0 or {@link EXIT.stopIncomplete}. Called again (a second signal meanwhile): exits at once.
 */
export function exitAfterStop(name: string, flushTelemetry: () => Promise<void>): (code: number, report: StopReport) => void {
  let exiting = false;
  return (_code, report) => {
    const code = report.handedOver ? EXIT.ok : EXIT.stopIncomplete;
    if (exiting) return process.exit(code);
    exiting = true;
    const { stream, line } = stopMessage(name, report);
    process[stream].write(`${line}\n`);
    const flushed = report.handedOver ? flushTelemetry().catch(() => undefined) : Promise.resolve();
    void settledWithin(flushed, TELEMETRY_FLUSH_MS).finally(() => process.exit(code));
  };
}
