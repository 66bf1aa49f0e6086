/**
 * Issue 14 as a stranger meets it, with the real binary and a private `redis-server`, in the
 * order the README leads them: a bare Redis is refused; with AOF a node starts and says how
 * durable it is; an eventId sent again with other content is refused, not called a duplicate;
 * `replace_state` will not run code; a frozen Redis ends a command with exit 3; and a signal
 * stops the node cleanly with exit 0.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { governorAsync as governor, startGovernorNode } from '../cli/governor-command.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle | undefined;
let node: ChildProcess | undefined;

afterAll(async () => {
  if (redis?.pid !== undefined) process.kill(redis.pid, 'SIGCONT');
  node?.kill('SIGKILL');
  await redis?.stop();
});

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; stdout: string }>((resolve) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout }));
  });

it('a stranger’s trust journey: durable or refused, one request per key, no code on the admin path, deadlines, a clean stop', async () => {
  redis = await startRedis({ mode: 'private', persistence: 'redis-defaults' });
  const env = { REDIS_URL: redis.url, GOVERNOR_PREFIX: redis.prefix };

  // 1. `redis-server` as it comes: no AOF, so the node refuses it, naming the setting and the fix.
  const refused = await governor(['start', '--name', 'n1'], { env });
  expect(refused.code, refused.stderr).toBe(6);
  expect(refused.stderr).toMatch(/appendonly no .*appendonly yes/s);

  // 2. AOF on: the node starts and its first lines say it is a cluster node and how durable Redis is.
  await redis.client().config('SET', 'appendonly', 'yes');
  node = await startGovernorNode(['--name', 'n1'], env);
  const stopped = exited(node);

  // 3. One eventId, one request: the same id with other content is refused, not a "duplicate".
  const usage = (quantity: number) => ['enqueue', 'UsageRecorded', '--customer', 'c1', '--metric', 'executions', '--quantity', String(quantity), '--idempotency-key', 'k1', '--event-id', 'dup-1'];
  const first = await governor([...usage(5), '--wait', '20'], { env });
  expect([0, 1], first.stderr).toContain(first.code);
  expect(first.stdout).toMatch(/^dup-1 (completed|rejected)/m);
  const reused = await governor([...usage(500_000), '--wait', '20'], { env });
  expect(reused.code, reused.stdout).toBe(2);
  expect(reused.stderr).toMatch(/IDEMPOTENCY_KEY_REUSED/);
  const again = await governor([...usage(5), '--wait', '20'], { env });
  expect(again.stdout).toMatch(/^dup-1 duplicate/m);

  // 4. The admin path carries data, never code: the old sandbox escape is refused before it leaves.
  const escape = await governor(['repl', '--eval', "replace_state('Billing/c1', () => this.constructor.constructor('return process')().env)"], { env });
  expect(escape.code).toBe(1);
  expect(escape.stdout + escape.stderr).toMatch(/STATE_CHANGE_NOT_DATA/);

  // 5. A frozen Redis ends a command with exit 3 and one line, instead of hanging.
  process.kill(redis.pid!, 'SIGSTOP');
  const frozen = await governor(['enqueue', 'UsageRecorded', '--customer', 'c1', '--metric', 'executions', '--quantity', '1', '--idempotency-key', 'k2'], {
    env: { ...env, GOVERNOR_REDIS_TIMEOUT_MS: '1000' },
  });
  process.kill(redis.pid!, 'SIGCONT');
  expect(frozen.code, frozen.stderr).toBe(3);
  expect(frozen.stderr).toMatch(/cannot reach Redis .* no answer within 1000 ms/);

  // 6. SIGTERM hands over and exits 0, saying so: a rolling update is not a crash.
  node.kill('SIGTERM');
  const end = await stopped;
  expect(end.code).toBe(0);
  expect(end.stdout).toMatch(/stopped \(SIGTERM\): handed over/);
}, 120_000);
