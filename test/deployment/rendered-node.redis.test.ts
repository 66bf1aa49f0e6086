/**
 * A pod's environment, as the rendered manifests give it, starts a node that uses all of it: the
 * real binary with no flags, the ConfigMap and the Deployment's env resolved as the kubelet would
 * (Secret keys from a test Secret, the pod name from the field reference), on a private Redis.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { renderManifests } from '../../src/deployment/index.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { startGovernorNode } from '../cli/governor-command.ts';
import { NODE_ENVIRONMENT } from '../../src/cli/node-environment.ts';

let redis: RedisHandle | undefined;
let node: ChildProcess | undefined;

afterEach(async () => {
  if (node && node.exitCode === null && node.signalCode === null) node.kill('SIGKILL');
  await redis?.stop();
  redis = node = undefined;
});

it('a node started with exactly the rendered environment runs under the pod name, with shared keys and the rendered log level', async () => {
  redis = await startRedis({ mode: 'private' });
  const manifests = renderManifests({ provider: 'aws', tier: 'professional', image: 'registry.example.com/governor:1.2.3' });
  const secret: Record<string, string> = {
    'redis-url': redis.url,
    'pseudonym-key': 'p'.repeat(43),
    'telemetry-secret': 't'.repeat(43),
    'admin-token': 'a'.repeat(43),
  };
  const podName = 'governor-7d9f8c6b5-x2k4q';
  const container = manifests.deployment.spec!.template.spec!.containers[0]!;
  const env: Record<string, string> = { ...(manifests.configMap.data as Record<string, string>) };
  for (const entry of container.env!) {
    const from = entry.valueFrom!;
    env[entry.name] = from.secretKeyRef ? secret[from.secretKeyRef.key]! : from.fieldRef!.fieldPath === 'metadata.name' ? podName : '';
  }
  // The one change: a free metrics port on a shared machine, on loopback (the pod's 9464 on 0.0.0.0).
  Object.assign(env, { GOVERNOR_METRICS_PORT: '0', GOVERNOR_METRICS_HOST: '127.0.0.1' });
  // Nothing the test runner's own environment sets may stand in for the rendered values.
  const cleared = Object.fromEntries(NODE_ENVIRONMENT.map((variable) => [variable.name, '']));

  let stderr = '';
  node = await startGovernorNode([], { ...cleared, ...env });
  node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  node.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const ended = new Promise<number | null>((resolve) => node!.once('exit', (code) => resolve(code)));
  const client = redis.client();
  // The node's membership entry carries its name: the pod's.
  expect(await client.zrange(new RedisKeys('governor').nodes, 0, -1)).toEqual([podName]);
  node.kill('SIGTERM');
  expect(await ended, stderr).toBe(0);
  expect(stdout).toContain(`Governor cluster node "${podName}" stopped (SIGTERM)`);
  // Shared keys: no node invents its own.
  expect(stderr).not.toContain('GOVERNOR_PSEUDONYM_KEY is not set');
  expect(stderr).not.toContain('GOVERNOR_TELEMETRY_SECRET is not set');
  // GOVERNOR_LOG_LEVEL=info: the info line a node logs at start (JSON, stderr not a terminal).
  expect(stderr).toMatch(/"level":30,.*"msg":"node started"/);
  expect(stderr).toContain('governor: metrics on http://127.0.0.1:');
}, 60_000);
