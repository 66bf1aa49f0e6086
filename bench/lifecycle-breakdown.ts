/**
 * Where one lifecycle event's Redis work goes (issue 15): the lifecycle benchmark's sharded fleet
 * (two node processes, `lifecycle-node.ts`) on a private Redis, a warm-up round, then one whole
 * script (all eight event types) over `BREAKDOWN_CUSTOMERS` customers watched with `MONITOR`.
 *
 * Two whole scripts are sent, one after the other. The first (the lifecycle benchmark's timed
 * rounds) runs under `MONITOR`: per event, every command sent by a client (a script is one
 * EVALSHA, named by the sha1 of its source: Governor's `src/store/lua/*.lua`, BullMQ's
 * `commands/*.lua`), the commands each script runs inside it and the bytes of its arguments; and
 * the `INFO commandstats` total (a script once plus every command it runs: the benchmark's
 * `commands_per_event`). The second, unwatched (MONITOR costs Redis time and output bytes), gives
 * Redis' network bytes in and out (`INFO stats`) and each client command's time from `SLOWLOG`
 * (times move with the machine's load, counts and bytes do not).
 *
 * `npm run bench -- lifecycle-breakdown`; `BREAKDOWN_JSON=1` adds the table as JSON.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GovernorProducer } from '../src/transport/bullmq/index.ts';
import { monitorRedis } from '../test/support/redis-monitor.ts';
import { startRedis, type RedisHandle } from '../test/support/redis-server.ts';
import { lifecycleRounds } from './lifecycle-events.ts';
import { messages, startNode, Tracker, until, warmUp, type NodeProcess } from './lifecycle-fleet.ts';
import { commandsBetween, commandStats } from './redis-cpu.ts';
import { round } from './stats.ts';

const PARTITIONS = 16;
const NODES = 2;
const CUSTOMERS = Number(process.env['BREAKDOWN_CUSTOMERS'] ?? 200);

/** sha1 of every script a node or producer may run → its name. */
function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  const sha = (source: string) => createHash('sha1').update(source).digest('hex');
  const lua = fileURLToPath(new URL('../src/store/lua/', import.meta.url));
  for (const file of readdirSync(lua)) names.set(sha(readFileSync(join(lua, file), 'utf8')), `gov ${file.replace(/\.lua$/, '')}`);
  const bullmq = join(dirname(createRequire(import.meta.url).resolve('bullmq')), 'scripts');
  for (const file of readdirSync(bullmq).filter((f) => f.endsWith('.js'))) {
    const source = /const content = `([\s\S]*)`;\nexport/.exec(readFileSync(join(bullmq, file), 'utf8'))?.[1];
    // The file holds the source as a template literal: its escapes are the script's characters.
    if (source !== undefined) names.set(sha(new Function(`return \`${source}\`;`)() as string), `bullmq ${file.replace(/\.js$/, '')}`);
  }
  return names;
}

interface Row {
  calls: number;
  bytes: number;
  /** For a script: the commands it ran, by name. */
  inner: Map<string, number>;
}

async function netBytes(redis: RedisHandle): Promise<[number, number]> {
  const client = redis.client();
  try {
    const info = (await client.info('stats')) as string;
    const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
    return [field('total_net_input_bytes'), field('total_net_output_bytes')];
  } finally {
    client.disconnect();
  }
}

export async function main(): Promise<Record<string, unknown>> {
  const redis = await startRedis();
  const names = scriptNames();
  const prefix = `${redis.prefix}:{bd}`;
  const tracker = new Tracker();
  const nodes: NodeProcess[] = [];
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS, placement: 'sharded' });
  const progress = setInterval(() => console.error(`breakdown: ${tracker.finished} of ${tracker.target} events of this phase finished`), 10_000);
  progress.unref();
  try {
    const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: String(PARTITIONS), PLACEMENT: 'sharded', ROLE: 'governor' };
    for (let i = 0; i < NODES; i++) nodes.push(await startNode({ ...env, NODE_NAME: `breakdown-${i}` }, tracker));
    await until(() => nodes.every((n) => n.owned === PARTITIONS / NODES), 'both nodes owning half the partitions');
    const send = (batch: Parameters<typeof producer.sendMany>[0]) => producer.sendMany(batch);
    await warmUp('bd', CUSTOMERS, tracker, send);

    // Phase 1, the benchmark's timed script (rounds 1-8) under MONITOR: which client command,
    // and inside which script which commands; and the INFO commandstats total (a count: MONITOR
    // slows Redis but changes no count). MONITOR shows a script's EVALSHA first, then the commands
    // it runs (Redis 7): each command from Lua belongs to the last client command shown.
    const events = lifecycleRounds('bd', CUSTOMERS, 1, 8);
    const rows = new Map<string, Row>();
    let last: Row | undefined;
    // redis-cli's MONITOR, not ioredis' (which can fail with "Command queue state error" under load).
    const monitor = await monitorRedis(redis.url, ({ args, source }) => {
      const command = args[0]!.toLowerCase();
      if (source === 'lua') {
        if (last) last.inner.set(command, (last.inner.get(command) ?? 0) + 1);
        return;
      }
      if (command === 'info' || command === 'monitor' || command === 'quit' || command === 'slowlog' || command === 'config') {
        last = undefined;
        return;
      }
      const name = command === 'evalsha' ? (names.get(args[1]!) ?? `evalsha ${args[1]!.slice(0, 8)}`) : command === 'eval' ? 'eval (script sent whole)' : command;
      let row = rows.get(name);
      if (!row) rows.set(name, (row = { calls: 0, bytes: 0, inner: new Map() }));
      row.calls++;
      row.bytes += args.reduce((sum, a) => sum + Buffer.byteLength(a), 0);
      last = row;
    });
    const statsBefore = await commandStats(redis);
    let done = tracker.next(events.length);
    await send(messages(events, tracker));
    await done;
    // What the last commits send after the orchestrators finish (completions, relays) lands too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const commands = commandsBetween(statsBefore, await commandStats(redis));
    monitor.stop();

    // Phase 2, the next whole script (rounds 9-16) unwatched: network bytes, and each client
    // command's time from SLOWLOG (every command logged; a script's time includes its commands').
    const second = lifecycleRounds('bd', CUSTOMERS, 9, 8);
    const admin = redis.client();
    await admin.config('SET', 'slowlog-max-len', String(second.length * 150));
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await admin.slowlog('RESET');
    const [inBefore, outBefore] = await netBytes(redis);
    done = tracker.next(second.length);
    await send(messages(second, tracker));
    await done;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [inAfter, outAfter] = await netBytes(redis);
    await admin.config('SET', 'slowlog-log-slower-than', '10000');
    const usec = new Map<string, number>();
    for (const entry of (await admin.slowlog('GET', -1)) as [number, number, number, string[], string][]) {
      // A command a script ran is logged too, without a client: its time is in the script's.
      if (!entry[4]) continue;
      const args = entry[3];
      const command = String(args[0]).toLowerCase();
      const name = command === 'evalsha' ? (names.get(String(args[1])) ?? `evalsha ${String(args[1]).slice(0, 8)}`) : command;
      usec.set(name, (usec.get(name) ?? 0) + entry[2]);
    }
    admin.disconnect();

    // Each phase's figures per its own events (the same script: as many, give or take a duplicate).
    const perEvent = (x: number) => round(x / events.length, 3);
    const perSecond = (x: number) => round(x / second.length, 3);
    const table = [...rows].sort((a, b) => b[1].calls + sum(b[1].inner) - (a[1].calls + sum(a[1].inner)));
    console.log(`${events.length} events (${CUSTOMERS} customers × 8 types, every 20th twice), per event:`);
    console.log(`${'sent by a client'.padEnd(34)} ${'calls'.padStart(7)} ${'inside'.padStart(7)} ${'arg bytes'.padStart(10)} ${'µs'.padStart(6)}  commands inside (per event)`);
    for (const [name, row] of table) {
      const inner = [...row.inner].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${perEvent(n)}`).join(', ');
      console.log(`${name.padEnd(34)} ${perEvent(row.calls).toFixed(3).padStart(7)} ${perEvent(sum(row.inner)).toFixed(3).padStart(7)} ${perEvent(row.bytes).toFixed(0).padStart(10)} ${((usec.get(name) ?? 0) / second.length).toFixed(1).padStart(6)}  ${inner}`);
    }
    const sent = [...rows.values()].reduce((s, r) => s + r.calls, 0);
    const statsCalls = commands.reduce((s, [, c]) => s + c.calls, 0);
    console.log(`client commands ${perEvent(sent)}; commandstats calls ${perEvent(statsCalls)} (script once + its commands); next script: net in ${perSecond(inAfter - inBefore)} B, out ${perSecond(outAfter - outBefore)} B, µs (SLOWLOG, load-dependent) ${perSecond(sum(usec))}`);
    const result = {
      bench: 'lifecycle-breakdown',
      client_commands_per_event: perEvent(sent),
      commands_per_event: perEvent(statsCalls),
      net_in_bytes_per_event: round((inAfter - inBefore) / second.length, 0),
      net_out_bytes_per_event: round((outAfter - outBefore) / second.length, 0),
      events: events.length,
    };
    if (process.env['BREAKDOWN_JSON']) {
      return { ...result, table: Object.fromEntries(table.map(([name, row]) => [name, { calls: perEvent(row.calls), inside: Object.fromEntries([...row.inner].map(([c, n]) => [c, perEvent(n)])) }])) };
    }
    return result;
  } finally {
    clearInterval(progress);
    await Promise.all(nodes.map((n) => n.stop()));
    await producer.close();
    await redis.stop();
  }
}

function sum(counts: Map<string, number>): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}
