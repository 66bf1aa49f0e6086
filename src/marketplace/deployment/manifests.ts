import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import type { IIoK8sApiCoreV1TopologySpreadConstraint as TopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import { DEFAULT_METRICS_PORT } from '../telemetry/metrics-server.ts';
import {
  CPU_TARGET_PERCENT,
  MEMORY_TARGET_PERCENT,
  resolveDeploymentOptions,
  type DeploymentOptions,
  type ResolvedDeploymentOptions,
} from './options.ts';

/** The name every rendered object carries. */
export const APP_NAME = 'governor';

/**
 * The Secret the pods read their Redis URL and admin token from. It is referenced, never rendered:
 * secret values do not belong in manifests that end up in Git. Create it once, e.g.
 * `kubectl -n governor create secret generic governor-secrets --from-literal=redis-url=rediss://… --from-literal=admin-token=…`
 */
export interface SecretReference {
  readonly name: string;
  readonly namespace: string;
  /** Key in the Secret → environment variable it becomes. */
  readonly keys: { readonly 'redis-url': 'REDIS_URL'; readonly 'admin-token': 'GOVERNOR_ADMIN_TOKEN' };
}

/** Everything `governor deploy render` prints, as typed Kubernetes models. */
export interface GovernorManifests {
  readonly options: ResolvedDeploymentOptions;
  readonly configMap: ConfigMap;
  readonly service: Service;
  readonly deployment: Deployment;
  readonly autoscaler: HorizontalPodAutoscaler;
  readonly disruptionBudget: PodDisruptionBudget;
  readonly secret: SecretReference;
}

/**
 * Renders the Kubernetes objects that run Governor nodes against Redis, for one provider and tier,
 * from typed models (never string templates). Validates the options first; call `.validate()` on
 * any object to check it against the Kubernetes schema.
 *
 * @throws UnknownProviderError | UnknownTierError | InvalidReplicasError | InvalidDeploymentOptionError
 * @example
 * const manifests = renderManifests({ provider: 'aws', tier: 'professional', replicas: { min: 2, max: 8 } });
 * process.stdout.write(manifestsToYaml(manifests));
 */
export function renderManifests(input: DeploymentOptions): GovernorManifests {
  const options = resolveDeploymentOptions(input);
  const { namespace, sizing, replicas, tier, provider } = options;
  const selector = {
    'app.kubernetes.io/name': APP_NAME,
    'app.kubernetes.io/instance': APP_NAME,
    'app.kubernetes.io/component': 'node',
  };
  const labels = {
    ...selector,
    'app.kubernetes.io/part-of': APP_NAME,
    'app.kubernetes.io/version': imageTag(options.image),
    'app.kubernetes.io/managed-by': 'governor-deploy',
    'governor.dev/tier': tier,
    'governor.dev/provider': provider,
  };
  const metadata = (name: string) => ({ name, namespace, labels });
  const secret: SecretReference = {
    name: `${APP_NAME}-secrets`,
    namespace,
    keys: { 'redis-url': 'REDIS_URL', 'admin-token': 'GOVERNOR_ADMIN_TOKEN' },
  };
  const memoryMiB = Math.round(sizing.memoryGiB * 1024);

  const configMap = new ConfigMap({
    metadata: metadata(`${APP_NAME}-config`),
    data: {
      NODE_ENV: 'production',
      // Node's heap limit does not follow the container's memory limit everywhere; leaving a
      // quarter for buffers, code and the rest keeps the kernel's OOM killer away.
      NODE_OPTIONS: `--max-old-space-size=${Math.floor(memoryMiB * 0.75)}`,
      GOVERNOR_TIER: tier,
      GOVERNOR_PROVIDER: provider,
      GOVERNOR_REGION: options.region,
      GOVERNOR_REGIONS: options.regions.join(','),
      GOVERNOR_METRICS_HOST: '0.0.0.0',
      GOVERNOR_METRICS_PORT: String(DEFAULT_METRICS_PORT),
      GOVERNOR_LOG_LEVEL: 'info',
    },
  });

  const service = new Service({
    metadata: metadata(APP_NAME),
    spec: {
      // Nodes take their work from Redis, not from the network: the Service only exposes metrics.
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'metrics', port: DEFAULT_METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  });

  const probe = (failureThreshold: number) => ({
    httpGet: { path: '/healthz', port: 'metrics' },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold,
  });
  const deployment = new Deployment({
    metadata: metadata(APP_NAME),
    spec: {
      // No `replicas`: the autoscaler owns the count, and a fixed value would reset it on every apply.
      selector: { matchLabels: selector },
      revisionHistoryLimit: 5,
      // Surge before removing: a rollout never lowers capacity.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(DEFAULT_METRICS_PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          // The node never calls the Kubernetes API: no token to steal.
          automountServiceAccountToken: false,
          // Time to finish running jobs and hand partitions over (BullMQ workers close gracefully).
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: spreadConstraints(options, selector),
          containers: [
            {
              name: APP_NAME,
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['start'],
              ports: [{ name: 'metrics', containerPort: DEFAULT_METRICS_PORT, protocol: 'TCP' }],
              envFrom: [{ configMapRef: { name: configMap.metadata!.name! } }],
              env: [
                { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: secret.name, key: 'redis-url' } } },
                { name: 'GOVERNOR_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: secret.name, key: 'admin-token' } } },
                // The pod name is a unique, stable-for-its-lifetime node name.
                { name: 'GOVERNOR_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              // Requests equal limits (Guaranteed QoS): the autoscaler's percentages mean what they
              // say, and a node is never the first evicted under memory pressure.
              resources: {
                requests: { cpu: cpuQuantity(sizing.cpu), memory: memoryQuantity(sizing.memoryGiB) },
                limits: { cpu: cpuQuantity(sizing.cpu), memory: memoryQuantity(sizing.memoryGiB) },
              },
              startupProbe: { ...probe(30), periodSeconds: 2 },
              readinessProbe: probe(3),
              livenessProbe: probe(6),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  });

  const autoscaler = new HorizontalPodAutoscaler({
    metadata: metadata(APP_NAME),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP_NAME },
      minReplicas: replicas.min,
      maxReplicas: replicas.max,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: CPU_TARGET_PERCENT } } },
        {
          type: 'Resource',
          resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: MEMORY_TARGET_PERCENT } },
        },
      ],
      behavior: {
        // Scale down slowly, one pod a minute after five calm minutes: each removed node hands its
        // partitions to the others, and flapping would do that over and over.
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      },
    },
  });

  const disruptionBudget = new PodDisruptionBudget({
    metadata: metadata(APP_NAME),
    // One pod at a time: drains and upgrades go on (a `minAvailable` equal to a single replica
    // would block them forever) but never take several nodes at once.
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  });

  return { options, configMap, service, deployment, autoscaler, disruptionBudget, secret };
}

/** The objects in the order `kubectl apply` should see them (config before what reads it). */
export function manifestList(
  manifests: GovernorManifests,
): [ConfigMap, Service, Deployment, HorizontalPodAutoscaler, PodDisruptionBudget] {
  return [manifests.configMap, manifests.service, manifests.deployment, manifests.autoscaler, manifests.disruptionBudget];
}

function spreadConstraints(
  options: ResolvedDeploymentOptions,
  selector: Record<string, string>,
): TopologySpreadConstraint[] | undefined {
  const labelSelector = { matchLabels: selector };
  switch (options.sizing.spread) {
    case 'none':
      return undefined;
    case 'zones':
      // Best effort: a single-zone cluster still schedules.
      return [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector }];
    case 'zones-and-regions':
      return [
        // Hard for zones: Enterprise promises to survive a zone loss.
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector },
        // Soft for regions: only a cluster that spans regions can honour it.
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/region', whenUnsatisfiable: 'ScheduleAnyway', labelSelector },
      ];
  }
}

/** `2` → `"2"`, `0.5` → `"500m"`: whole cores as integers, the rest in millicores. */
function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

/** `4` → `"4Gi"`, `0.5` → `"512Mi"`. */
function memoryQuantity(gib: number): string {
  return Number.isInteger(gib) ? `${gib}Gi` : `${Math.round(gib * 1024)}Mi`;
}

/** The tag of an image reference, for the version label; `latest` when there is none. */
function imageTag(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : 'latest';
  // Label values: at most 63 characters of [A-Za-z0-9._-].
  return tag.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
}
