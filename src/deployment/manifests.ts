import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import type { IIoK8sApiCoreV1EnvVar as EnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IIoK8sApiCoreV1TopologySpreadConstraint as TopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import { NODE_ENVIRONMENT, type NodeVariableName } from '../cli/node-environment.ts';
import { DEFAULT_METRICS_PORT } from '../observability/metrics-port.ts';
import {
  CPU_TARGET_PERCENT,
  MEMORY_TARGET_PERCENT,
  resolveDeploymentOptions,
  type DeploymentOptions,
  type ResolvedDeploymentOptions,
} from './options.ts';

/** The name every rendered object carries. */
export const APP_NAME = 'governor';

/** How long Kubernetes waits after SIGTERM before it kills a pod. */
export const TERMINATION_GRACE_SECONDS = 60;

/**
 * The Secret the pods read their secret variables from ({@link NODE_ENVIRONMENT} entries marked
 * `secret`). It is referenced, never rendered: secret values do not belong in manifests that end
 * up in Git, and a rendered Secret with placeholders would start nodes on the placeholders. The
 * YAML's leading comment gives the one command that creates it; until it exists the pods wait
 * (CreateContainerConfigError) instead of each inventing its own keys.
 */
export interface SecretReference {
  readonly name: string;
  readonly namespace: string;
  /** Each key of the Secret, the variable it becomes, and whether a pod can start without it. */
  readonly keys: readonly { readonly key: string; readonly variable: NodeVariableName; readonly required: boolean }[];
}

/** The Secret key holding a secret variable: `GOVERNOR_PSEUDONYM_KEY` → `pseudonym-key`, `REDIS_URL` → `redis-url`. */
export function secretKeyOf(variable: NodeVariableName): string {
  return variable.replace(/^GOVERNOR_/, '').toLowerCase().replaceAll('_', '-');
}

/** Everything `governor deploy render` prints, as typed Kubernetes models. */
export interface GovernorManifests {
  readonly options: ResolvedDeploymentOptions;
  readonly namespace: Namespace;
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
 * const manifests = renderManifests({ provider: 'aws', tier: 'professional', image: 'registry.example.com/governor:1.2.3' });
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
    'governor.dev/region': options.region,
  };
  const metadata = (name: string) => ({ name, namespace, labels });
  const secrets = NODE_ENVIRONMENT.filter((variable) => variable.secret);
  const secret: SecretReference = {
    name: `${APP_NAME}-secrets`,
    namespace,
    keys: secrets.map((variable) => ({ key: secretKeyOf(variable.name), variable: variable.name, required: variable.required })),
  };
  const memoryMiB = Math.round(sizing.memoryGiB * 1024);

  const namespaceObject = new Namespace({
    metadata: {
      name: namespace,
      labels: {
        'app.kubernetes.io/part-of': APP_NAME,
        'app.kubernetes.io/managed-by': 'governor-deploy',
      },
    },
  });

  // The node's settings that are not secret: only variables the node reads (typed on their names).
  const settings: Partial<Record<NodeVariableName, string>> = {
    // Every node and every `governor enqueue` must share it; written out so that it is seen.
    GOVERNOR_PREFIX: 'governor',
    GOVERNOR_LOG_LEVEL: 'info',
    GOVERNOR_METRICS_HOST: '0.0.0.0',
    GOVERNOR_METRICS_PORT: String(DEFAULT_METRICS_PORT),
    // Node's heap limit does not follow the container's memory limit everywhere; leaving a
    // quarter for buffers, code and the rest keeps the kernel's OOM killer away.
    NODE_OPTIONS: `--max-old-space-size=${Math.floor(memoryMiB * 0.75)}`,
  };
  const configMap = new ConfigMap({ metadata: metadata(`${APP_NAME}-config`), data: settings as Record<string, string> });
  const env: EnvVar[] = [
    ...secret.keys.map(({ key, variable, required }) => ({
      name: variable,
      // A required key missing keeps the pod from starting; an optional one leaves the variable unset.
      valueFrom: { secretKeyRef: { name: secret.name, key, ...(required ? {} : { optional: true }) } },
    })),
    // The pod name is a unique, stable-for-its-lifetime node name, the one kubectl shows.
    { name: 'GOVERNOR_NODE_NAME' satisfies NodeVariableName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];

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
    // Regions as an annotation: a label value cannot hold the list.
    metadata: { ...metadata(APP_NAME), annotations: { 'governor.dev/regions': options.regions.join(',') } },
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
          // Time to finish running jobs and hand partitions over (BullMQ workers close gracefully):
          // above the node's own stop deadline (GOVERNOR_STOP_TIMEOUT_MS, 10 s by default) and its
          // last telemetry flush, so the node, not a SIGKILL, decides how the stop ends.
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
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
              env,
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

  return { options, namespace: namespaceObject, configMap, service, deployment, autoscaler, disruptionBudget, secret };
}

/** The objects in the order `kubectl apply` should see them (the namespace first, config before what reads it). */
export function manifestList(
  manifests: GovernorManifests,
): [Namespace, ConfigMap, Service, Deployment, HorizontalPodAutoscaler, PodDisruptionBudget] {
  return [manifests.namespace, manifests.configMap, manifests.service, manifests.deployment, manifests.autoscaler, manifests.disruptionBudget];
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
