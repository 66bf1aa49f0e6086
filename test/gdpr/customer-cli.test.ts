/**
 * `governor customer` refuses bad input before touching anything, each with one line saying what
 * to fix and a documented exit code: a malformed signing key, a bad timeout, no Redis given (2),
 * and a Redis that does not answer (3). The real command, as a user runs it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governorAsync as governor } from '../cli/governor-command.ts';

let silent: Server;
let port = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  // A port that accepts connections and never answers: a frozen Redis.
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

const env = { REDIS_URL: '', GOVERNOR_REDIS_TIMEOUT_MS: '500', GOVERNOR_SIGNING_KEY: '' };

describe('governor customer: bad input and an unreachable Redis', () => {
  it.each([
    [['customer', 'export', 'c1', '--signing-key', 'no-equals-sign', '--redis', 'redis://127.0.0.1:1'], /--signing-key must be kid=seed/],
    [['customer', 'erase', 'c1', '--timeout-ms', 'soon', '--redis', 'redis://127.0.0.1:1'], /--timeout-ms: "soon" is not a positive integer/],
    [['customer', 'erase', 'c1'], /no Redis: pass --redis/],
    [['customer', 'export'], /missing required argument 'customerId'/],
  ])('%j exits 2 with what to fix', async (args, message) => {
    const run = await governor(args as string[], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('a Redis that does not answer is exit 3, in one line', async () => {
    const run = await governor(['customer', 'erase', 'c1', '--redis', `redis://127.0.0.1:${port}`], { env });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot reach Redis/);
  }, 60_000);
});
