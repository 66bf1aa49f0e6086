import type { RedisHandle } from '../test/support/redis-server.ts';

/**
 * The CPU a Redis server has used so far (`INFO cpu`: `used_cpu_user + used_cpu_sys`), in
 * microseconds. The difference over a timed phase, divided by its events, is what each event costs
 * the one core a Redis (or a cluster shard) has: the ceiling of the whole fleet, whatever the
 * number of nodes. `BENCH_CPU_SPLIT=1` logs the user and system seconds so far at each reading
 * (stderr), to see how much of it is system calls.
 */
export async function redisCpuMicros(redis: RedisHandle): Promise<number> {
  const client = redis.client();
  try {
    const info = (await client.info('cpu')) as string;
    const seconds = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
    if (process.env['BENCH_CPU_SPLIT']) console.error(`redis cpu so far: user ${seconds('used_cpu_user')} s, sys ${seconds('used_cpu_sys')} s`);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
  } finally {
    client.disconnect();
  }
}

/** One command's totals so far (`INFO commandstats`): how many calls, and the µs Redis spent in them. */
export interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

/**
 * Every command's calls and µs so far (`INFO commandstats`), by command name. Calls do not depend
 * on the machine's load, unlike CPU time, so their difference over a phase divided by its events
 * (commands per event) shows a saving on any machine. A script run by EVALSHA counts as one call
 * of `evalsha` here, whatever it does inside; the commands it runs are counted under their own names.
 */
export async function commandStats(redis: RedisHandle): Promise<Map<string, CommandStat>> {
  const client = redis.client();
  try {
    const info = (await client.info('commandstats')) as string;
    const stats = new Map<string, CommandStat>();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
    }
    return stats;
  } finally {
    client.disconnect();
  }
}

/** What each command did between two {@link commandStats} readings, busiest (by µs) first. */
export function commandsBetween(before: Map<string, CommandStat>, after: Map<string, CommandStat>): [string, CommandStat][] {
  const diff: [string, CommandStat][] = [];
  for (const [name, now] of after) {
    const then = before.get(name) ?? { calls: 0, usec: 0 };
    if (now.calls > then.calls) diff.push([name, { calls: now.calls - then.calls, usec: now.usec - then.usec }]);
  }
  return diff.sort((a, b) => b[1].usec - a[1].usec);
}

/** The table of {@link commandsBetween} per event, for a benchmark's log (stderr). */
export function describeCommands(diff: [string, CommandStat][], events: number): string {
  const rows = diff.map(([name, s]) => `  ${name.padEnd(28)} ${(s.calls / events).toFixed(3).padStart(8)} calls/event ${(s.usec / events).toFixed(1).padStart(8)} µs/event`);
  return rows.join('\n');
}
