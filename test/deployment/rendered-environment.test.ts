/**
 * The manifests match the node: every variable `governor deploy render` sets is one a node reads
 * (declared in src/cli/node-environment.ts), every variable a cluster needs is set, and secrets
 * come from the Secret, never from a value. The node's sources are checked to read only declared
 * variables, so the declaration cannot drift from what `governor start` does.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_ENVIRONMENT } from '../../src/cli/node-environment.ts';
import { STOP_TIMEOUT_ENV, DEFAULT_STOP_TIMEOUT_MS } from '../../src/cli/node-stop.ts';
import { ALLOW_DATA_LOSS_ENV } from '../../src/transport/bullmq/index.ts';
import { manifestList, PROVIDERS, renderManifests, TERMINATION_GRACE_SECONDS, TIERS } from '../../src/deployment/index.ts';
import { governor } from '../cli/governor-command.ts';

const IMAGE = 'registry.example.com/governor:1.2.3';
const declared = new Set<string>(NODE_ENVIRONMENT.map((variable) => variable.name));
const everyCombination = PROVIDERS.flatMap((provider) => TIERS.map((tier) => ({ provider, tier })));

describe('the rendered environment is the node\u2019s', () => {
  it.each(everyCombination)('$provider / $tier: exactly declared variables, secrets by secretKeyRef, every object schema-valid', ({ provider, tier }) => {
    const manifests = renderManifests({ provider, tier, image: IMAGE });
    for (const object of manifestList(manifests)) expect(() => object.validate()).not.toThrow();
    const container = manifests.deployment.spec!.template.spec!.containers[0]!;
    const fromConfigMap = Object.keys(manifests.configMap.data ?? {});
    const fromEnv = container.env!.map((variable) => variable.name);
    const rendered = [...fromConfigMap, ...fromEnv];

    expect(new Set(rendered).size, 'each variable set once').toBe(rendered.length);
    expect(rendered.filter((name) => !declared.has(name)), 'set but never read by a node').toEqual([]);
    const required = NODE_ENVIRONMENT.filter((variable) => variable.required).map((variable) => variable.name);
    expect(required.filter((name) => !rendered.includes(name)), 'required but not set').toEqual([]);

    for (const variable of NODE_ENVIRONMENT.filter((v) => v.secret)) {
      const entry = container.env!.find((e) => e.name === variable.name);
      expect(entry?.valueFrom?.secretKeyRef, `${variable.name} from the Secret`).toMatchObject({ name: manifests.secret.name });
      expect(entry!.valueFrom!.secretKeyRef!.optional === true).toBe(!variable.required);
      expect(fromConfigMap).not.toContain(variable.name);
    }
    for (const entry of container.env!) {
      if (entry.valueFrom?.secretKeyRef) expect(NODE_ENVIRONMENT.find((v) => v.name === entry.name)!.secret).toBe(true);
      expect(entry.value, `${entry.name} has no literal value`).toBeUndefined();
    }
    // The pod name is the node name; the log level is one governor start accepts.
    expect(container.env!.find((e) => e.name === 'GOVERNOR_NODE_NAME')!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.name');
    expect(manifests.configMap.data!['GOVERNOR_LOG_LEVEL']).toBe('info');
  });

  it('gives the node longer than its own stop deadline before Kubernetes kills it', () => {
    // The node's deadline plus its last telemetry flush (2 s) must fit: else SIGKILL, not the node, ends the stop.
    expect(TERMINATION_GRACE_SECONDS * 1000).toBeGreaterThan(DEFAULT_STOP_TIMEOUT_MS + 2_000);
    expect(renderManifests({ provider: 'aws', tier: 'community', image: IMAGE }).configMap.data![STOP_TIMEOUT_ENV]).toBeUndefined();
  });

  it('the node reads only declared variables (its sources name no other)', () => {
    const root = new URL('../../src/', import.meta.url);
    const files = [
      'cli/commands/start.ts',
      'cli/bullmq-node.ts',
      'cli/embedded.ts',
      'cli/node-telemetry.ts',
      'cli/node-stop.ts',
      'cli/enqueue/redis.ts',
      ...readdirSync(new URL('transport/bullmq/', root)).filter((f) => f.endsWith('.ts')).map((f) => `transport/bullmq/${f}`),
    ];
    const read = new Set<string>();
    for (const file of files) {
      const source = readFileSync(new URL(file, root), 'utf8');
      for (const match of source.matchAll(/['"`](GOVERNOR_[A-Z_]+|REDIS_URL)\b/g)) read.add(match[1]!);
      for (const match of source.matchAll(/process\.env\.([A-Z_]+)/g)) read.add(match[1]!);
    }
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !declared.has(name)), 'read by the node but not declared').toEqual([]);
    expect(declared.has(ALLOW_DATA_LOSS_ENV) && declared.has(STOP_TIMEOUT_ENV)).toBe(true);
  });
});

describe('governor start reads GOVERNOR_NODE_NAME and GOVERNOR_LOG_LEVEL (the binary)', () => {
  it('names the embedded node from GOVERNOR_NODE_NAME; --name still wins', () => {
    const fromEnv = governor(['start', '--embedded'], { input: '', env: { GOVERNOR_NODE_NAME: 'pod-abc' } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toContain('Governor embedded node "pod-abc"');
    const fromFlag = governor(['start', '--embedded', '--name', 'flagged'], { input: '', env: { GOVERNOR_NODE_NAME: 'pod-abc' } });
    expect(fromFlag.stdout).toContain('Governor embedded node "flagged"');
  });

  it('refuses a log level it does not know, naming where it came from (exit 2)', () => {
    const fromEnv = governor(['start', '--embedded'], { input: '', env: { GOVERNOR_LOG_LEVEL: 'loud' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('GOVERNOR_LOG_LEVEL: "loud" is not a log level');
    const fromFlag = governor(['start', '--embedded', '--log-level', 'loud'], { input: '', env: { GOVERNOR_LOG_LEVEL: 'info' } });
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--log-level: "loud"');
  });
});

describe('governor deploy render (the binary)', () => {
  it('requires --image: exit 2 naming it, nothing printed', () => {
    const run = governor(['deploy', 'render', '--provider', 'aws', '--tier', 'professional']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--image');
    expect(run.stdout).toBe('');
  });
});

describe('the README', () => {
  it('documents every declared variable in its Configuration section', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Configuration'), readme.indexOf('**Redis.** A BullMQ node keeps'));
    expect(NODE_ENVIRONMENT.map((variable) => variable.name).filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });
});
