import fc from 'fast-check';
import { Deployment } from 'kubernetes-models/apps/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_SIZING,
  InvalidDeploymentOptionError,
  InvalidReplicasError,
  manifestList,
  manifestsToYaml,
  parseReplicaRange,
  PROVIDERS,
  renderManifests,
  TIERS,
  UnknownProviderError,
  UnknownTierError,
  type DeploymentOptions,
} from '../../src/deployment/index.ts';

const IMAGE = 'registry.example.com/governor:1.2.3';
const everyCombination = PROVIDERS.flatMap((provider) => TIERS.map((tier) => ({ provider, tier })));
const regionOf = { aws: 'us-east-1', gcp: 'us-central1', azure: 'eastus' } as const;

describe('manifests for every provider × tier', () => {
  it.each(everyCombination)('$provider / $tier: every object passes the Kubernetes schema', ({ provider, tier }) => {
    const manifests = renderManifests({ image: IMAGE, provider, tier });
    const objects = manifestList(manifests);
    expect(objects.map((object) => `${object.apiVersion} ${object.kind}`)).toEqual([
      'v1 Namespace',
      'v1 ConfigMap',
      'v1 Service',
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'policy/v1 PodDisruptionBudget',
    ]);
    for (const object of objects) expect(() => object.validate()).not.toThrow();
  });

  it.each(everyCombination)('$provider / $tier: autoscaler targets CPU 70 % and memory 80 % of the Deployment', ({ provider, tier }) => {
    const { autoscaler, deployment } = renderManifests({ image: IMAGE, provider, tier });
    const spec = autoscaler.spec!;
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata!.name });
    expect(spec.metrics!.map((metric) => [metric.resource!.name, metric.resource!.target.type, metric.resource!.target.averageUtilization])).toEqual([
      ['cpu', 'Utilization', 70],
      ['memory', 'Utilization', 80],
    ]);
    // The autoscaler owns the replica count.
    expect(deployment.spec!.replicas).toBeUndefined();
  });

  it.each(everyCombination)('$provider / $tier: every secret comes from a Secret reference, never a value', ({ provider, tier }) => {
    const manifests = renderManifests({ image: IMAGE, provider, tier });
    const container = manifests.deployment.spec!.template.spec!.containers[0]!;
    const fromSecret = Object.fromEntries(
      container.env!.filter((variable) => variable.valueFrom?.secretKeyRef).map((variable) => [variable.name, variable.valueFrom!.secretKeyRef]),
    );
    expect(fromSecret).toEqual({
      REDIS_URL: { name: 'governor-secrets', key: 'redis-url' },
      GOVERNOR_PSEUDONYM_KEY: { name: 'governor-secrets', key: 'pseudonym-key' },
      GOVERNOR_TELEMETRY_SECRET: { name: 'governor-secrets', key: 'telemetry-secret' },
      GOVERNOR_ADMIN_TOKEN: { name: 'governor-secrets', key: 'admin-token', optional: true },
    });
    expect(container.env!.every((variable) => variable.value === undefined)).toBe(true);
    expect(manifestList(manifests).map((object) => object.kind as string)).not.toContain('Secret');
    expect(manifests.deployment.spec!.template.metadata!.labels!['governor.dev/region']).toBe(regionOf[provider]);
    expect(container.envFrom).toEqual([{ configMapRef: { name: manifests.configMap.metadata!.name } }]);
  });

  it.each(everyCombination)('$provider / $tier: pods run as non-root with a read-only root and the probes on /healthz', ({ provider, tier }) => {
    const pod = renderManifests({ image: IMAGE, provider, tier }).deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(container.args).toEqual(['start']);
  });

  it('sizes pods and replicas per tier: the SPEC defaults (2 CPU, 4 GB) for Professional, with 2–10 replicas', () => {
    const sizing = Object.fromEntries(
      TIERS.map((tier) => {
        const { deployment, autoscaler } = renderManifests({ image: IMAGE, provider: 'aws', tier });
        const resources = deployment.spec!.template.spec!.containers[0]!.resources!;
        expect(resources.limits).toEqual(resources.requests);
        return [tier, [resources.requests!['cpu'], resources.requests!['memory'], autoscaler.spec!.minReplicas, autoscaler.spec!.maxReplicas]];
      }),
    );
    expect(sizing).toEqual({
      community: ['1', '2Gi', 1, 3],
      professional: ['2', '4Gi', 2, 10],
      enterprise: ['4', '8Gi', 3, 30],
    });
    expect(DEFAULT_SIZING).toMatchObject({ cpu: 2, memoryGiB: 4, replicas: { min: 1, max: 10 } });
  });

  it('spreads over regions only for Enterprise', () => {
    const keys = (tier: (typeof TIERS)[number]) =>
      (renderManifests({ image: IMAGE, provider: 'gcp', tier }).deployment.spec!.template.spec!.topologySpreadConstraints ?? []).map(
        (constraint) => `${constraint.topologyKey}:${constraint.whenUnsatisfiable}`,
      );
    expect(keys('community')).toEqual([]);
    expect(keys('professional')).toEqual(['topology.kubernetes.io/zone:ScheduleAnyway']);
    expect(keys('enterprise')).toEqual(['topology.kubernetes.io/zone:DoNotSchedule', 'topology.kubernetes.io/region:ScheduleAnyway']);
    const regions = (tier: (typeof TIERS)[number]) => renderManifests({ image: IMAGE, provider: 'gcp', tier }).deployment.metadata!.annotations!['governor.dev/regions'];
    expect(regions('enterprise')).toBe('us-central1,us-east1');
    expect(regions('professional')).toBe('us-central1');
  });

  it('selects its own pods everywhere: Service, Deployment, budget and spread share one selector', () => {
    const { deployment, service, disruptionBudget } = renderManifests({ image: IMAGE, provider: 'azure', tier: 'enterprise' });
    const selector = deployment.spec!.selector.matchLabels!;
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(selector);
    expect(service.spec!.selector).toEqual(selector);
    expect(disruptionBudget.spec!.selector!.matchLabels).toEqual(selector);
    expect(disruptionBudget.spec!.maxUnavailable).toBe(1);
    for (const constraint of deployment.spec!.template.spec!.topologySpreadConstraints!) {
      expect(constraint.labelSelector!.matchLabels).toEqual(selector);
    }
  });

  it('honours replicas, image and namespace', () => {
    const manifests = renderManifests({
      provider: 'aws',
      tier: 'professional',
      replicas: { min: 2, max: 8 },
      image: 'registry.example.com:5000/acme/governor:1.4.2',
      namespace: 'billing-prod',
    });
    expect(manifests.autoscaler.spec).toMatchObject({ minReplicas: 2, maxReplicas: 8 });
    expect(manifests.deployment.spec!.template.spec!.containers[0]!.image).toBe('registry.example.com:5000/acme/governor:1.4.2');
    expect(manifests.deployment.metadata!.labels!['app.kubernetes.io/version']).toBe('1.4.2');
    const [namespace, ...namespaced] = manifestList(manifests);
    expect(namespace.metadata!.name).toBe('billing-prod');
    for (const object of namespaced) {
      expect(object.metadata!.namespace).toBe('billing-prod');
      object.validate();
    }
    expect(manifests.secret.namespace).toBe('billing-prod');
  });

  it('validates for any accepted replica range (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom(...everyCombination), (min, extra, combo) => {
        const max = Math.min(1_000, min + extra);
        const manifests = renderManifests({ image: IMAGE, ...combo, replicas: { min, max } });
        manifests.autoscaler.validate();
        expect(manifests.autoscaler.spec).toMatchObject({ minReplicas: min, maxReplicas: max });
      }),
      { numRuns: 50 },
    );
  });

  it('relies on a schema check that does catch a broken object', () => {
    const broken = new Deployment({ ...renderManifests({ image: IMAGE, provider: 'aws', tier: 'community' }).deployment.toJSON() });
    (broken.spec!.template.spec!.containers[0] as { ports: unknown }).ports = [{ containerPort: 'http' }];
    expect(() => broken.validate()).toThrow(/containerPort/);
  });
});

describe('YAML rendering', () => {
  it.each(everyCombination)('$provider / $tier: one document per object, equal to the models', ({ provider, tier }) => {
    const manifests = renderManifests({ image: IMAGE, provider, tier });
    const text = manifestsToYaml(manifests);
    const documents = parseAllDocuments(text);
    expect(documents.every((document) => document.errors.length === 0)).toBe(true);
    expect(documents.map((document) => document.toJS())).toEqual(manifestList(manifests).map((object) => JSON.parse(JSON.stringify(object.toJSON()))));
    expect(text.startsWith(`# Governor ${tier} on ${provider}`)).toBe(true);
    expect(text).toContain('kubectl -n governor create secret generic governor-secrets');
    expect(text).not.toMatch(/kind: Secret\b/);
    expect(text).not.toMatch(/\.\.\.|…|<[a-z-]+>|changeme/i);
  });

  it('quotes what YAML would otherwise misread', () => {
    const text = manifestsToYaml(renderManifests({ image: IMAGE, provider: 'aws', tier: 'community' }));
    expect(text).toContain('prometheus.io/scrape: "true"');
    expect(text).toContain('GOVERNOR_METRICS_PORT: "9464"');
  });
});

describe('hostile options', () => {
  const base: DeploymentOptions = { provider: 'aws', tier: 'professional', image: IMAGE };
  it.each<[string, unknown, new (...args: never[]) => Error, string]>([
    ['unknown provider', { ...base, provider: 'digitalocean' }, UnknownProviderError, 'UNKNOWN_PROVIDER'],
    ['provider with odd case', { ...base, provider: 'AWS' }, UnknownProviderError, 'UNKNOWN_PROVIDER'],
    ['missing provider', { tier: 'community' }, UnknownProviderError, 'UNKNOWN_PROVIDER'],
    ['unknown tier', { ...base, tier: 'gold' }, UnknownTierError, 'UNKNOWN_TIER'],
    ['min greater than max', { ...base, replicas: { min: 5, max: 2 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['negative min', { ...base, replicas: { min: -1, max: 2 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['zero min', { ...base, replicas: { min: 0, max: 2 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['fractional max', { ...base, replicas: { min: 1, max: 2.5 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['NaN', { ...base, replicas: { min: Number.NaN, max: 2 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['string replicas', { ...base, replicas: { min: '1', max: '3' } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['absurd max', { ...base, replicas: { min: 1, max: 1e9 } }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['replicas not an object', { ...base, replicas: 3 }, InvalidReplicasError, 'INVALID_REPLICAS'],
    ['no image', { provider: 'aws', tier: 'professional' }, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
    ['image with a space', { ...base, image: 'governor:1 ; rm -rf /' }, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
    ['image with a newline', { ...base, image: 'governor:1\nkind: Secret' }, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
    ['upper-case namespace', { ...base, namespace: 'Prod' }, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
    ['namespace too long', { ...base, namespace: 'a'.repeat(64) }, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
    ['no options', null, InvalidDeploymentOptionError, 'INVALID_DEPLOYMENT_OPTION'],
  ])('%s → %s', (_, options, errorClass, code) => {
    const attempt = () => renderManifests(options as DeploymentOptions);
    expect(attempt).toThrow(errorClass);
    try {
      attempt();
    } catch (error) {
      expect((error as { code: string }).code).toBe(code);
      expect((error as Error).message.length).toBeGreaterThan(20);
    }
  });

  it('says what to do about a bad replica range', () => {
    expect(() => renderManifests({ ...base, replicas: { min: 5, max: 2 } })).toThrow(/min is greater than max.*e\.g\. 2\.\.10/);
    expect(() => renderManifests({ ...base, provider: 'ibm' as never })).toThrow(/use one of aws, gcp, azure/);
  });

  it('rejects every inverted range (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1_000 }), fc.integer({ min: 1, max: 999 }), (min, gap) => {
        fc.pre(min - gap >= 1);
        expect(() => renderManifests({ ...base, replicas: { min, max: min - gap } })).toThrow(InvalidReplicasError);
      }),
    );
  });
});

describe('the --replicas flag', () => {
  it.each([
    ['2..10', { min: 2, max: 10 }],
    [' 3 .. 3 ', { min: 3, max: 3 }],
    ['4', { min: 4, max: 4 }],
  ])('parses %j', (text, range) => {
    expect(parseReplicaRange(text)).toEqual(range);
  });

  it.each(['10..2', '-1..3', '1.5..3', '0', 'two..ten', '', '1..', '..5', '1-5'])('refuses %j', (text) => {
    expect(() => parseReplicaRange(text)).toThrow(InvalidReplicasError);
  });
});
