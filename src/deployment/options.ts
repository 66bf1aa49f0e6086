import { InvalidDeploymentOptionError, InvalidReplicasError, UnknownProviderError, UnknownTierError } from './errors.ts';

export const PROVIDERS = ['aws', 'gcp', 'azure'] as const;
export type CloudProvider = (typeof PROVIDERS)[number];

export const TIERS = ['community', 'professional', 'enterprise'] as const;
export type DeploymentTier = (typeof TIERS)[number];

/** A replica range for the HorizontalPodAutoscaler. */
export interface ReplicaRange {
  readonly min: number;
  readonly max: number;
}

/** Where each provider runs by default (SPEC §4), and its second region for multi-region tiers. */
export const PROVIDER_REGIONS: Readonly<Record<CloudProvider, { readonly primary: string; readonly secondary: string }>> = {
  aws: { primary: 'us-east-1', secondary: 'us-west-2' },
  gcp: { primary: 'us-central1', secondary: 'us-east1' },
  azure: { primary: 'eastus', secondary: 'westus2' },
};

/** What one Governor node pod gets, and how many of them. */
export interface TierSizing {
  /** vCPU requested (and limited to) per pod. */
  readonly cpu: number;
  /** Memory in GiB requested (and limited to) per pod. */
  readonly memoryGiB: number;
  readonly replicas: ReplicaRange;
  /** Pods spread over zones (soft for Professional, hard for Enterprise) and, Enterprise only, regions. */
  readonly spread: 'none' | 'zones' | 'zones-and-regions';
  /** Monthly egress assumed by cost estimates: the transfer each tier includes (SPEC §4 billing). */
  readonly egressGb: number;
}

/**
 * The SPEC §4 defaults: 2 CPU, 4 GB, 1–10 replicas, CPU target 70 %, memory target 80 %.
 * Professional uses them with at least 2 replicas (see {@link TIER_SIZING}).
 */
export const DEFAULT_SIZING: TierSizing = { cpu: 2, memoryGiB: 4, replicas: { min: 1, max: 10 }, spread: 'zones', egressGb: 100 };

/**
 * Sizing per tier. Community is half the default and capped at 3 pods (its licence allows one
 * concurrent execution and 10 req/s). Professional is the default sizing with 2–10 replicas: with
 * one pod, every rolling update, node drain or crash stops all its customers until a new pod has
 * started and the partition leases moved (the disruption budget lets a drain evict the only pod),
 * and spreading over zones needs two. Enterprise doubles the pod, keeps at least 3 so one per zone
 * survives a zone loss, and is the only tier spread over regions.
 */
export const TIER_SIZING: Readonly<Record<DeploymentTier, TierSizing>> = {
  community: { cpu: 1, memoryGiB: 2, replicas: { min: 1, max: 3 }, spread: 'none', egressGb: 5 },
  professional: { ...DEFAULT_SIZING, replicas: { min: 2, max: 10 } },
  enterprise: { cpu: 4, memoryGiB: 8, replicas: { min: 3, max: 30 }, spread: 'zones-and-regions', egressGb: 10_000 },
};

/** HPA targets (SPEC §4). */
export const CPU_TARGET_PERCENT = 70;
export const MEMORY_TARGET_PERCENT = 80;

/** The largest replica count accepted: beyond it, a typo is likelier than a plan. */
export const MAX_REPLICAS = 1_000;

export const DEFAULT_NAMESPACE = 'governor';

/** The options of `governor deploy render`, as they come from a command line or a caller. */
export interface DeploymentOptions {
  readonly provider: CloudProvider;
  readonly tier: DeploymentTier;
  /** @default the tier's range ({@link TIER_SIZING}) */
  readonly replicas?: ReplicaRange;
  /**
   * The image the pods run, built from the repository's Dockerfile and pushed where the cluster
   * can pull it. No default: a made-up one would render manifests whose pods never start.
   */
  readonly image: string;
  /** @default 'governor' */
  readonly namespace?: string;
}

/** Options after validation, with every default filled in. */
export interface ResolvedDeploymentOptions {
  readonly provider: CloudProvider;
  readonly tier: DeploymentTier;
  readonly region: string;
  /** Regions pods may spread over: the primary, plus the secondary for Enterprise. */
  readonly regions: readonly string[];
  readonly sizing: TierSizing;
  readonly replicas: ReplicaRange;
  readonly image: string;
  readonly namespace: string;
}

/** Throws {@link UnknownProviderError} unless `value` is a provider. */
export function checkProvider(value: unknown): CloudProvider {
  if (typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value)) return value as CloudProvider;
  throw new UnknownProviderError(value);
}

/** Throws {@link UnknownTierError} unless `value` is a tier. */
export function checkTier(value: unknown): DeploymentTier {
  if (typeof value === 'string' && (TIERS as readonly string[]).includes(value)) return value as DeploymentTier;
  throw new UnknownTierError(value);
}

/** Throws {@link InvalidReplicasError} unless `value` is a schedulable range. */
export function checkReplicas(value: unknown): ReplicaRange {
  if (typeof value !== 'object' || value === null) throw new InvalidReplicasError(value, 'expected { min, max }');
  const { min, max } = value as { min?: unknown; max?: unknown };
  for (const [name, n] of [['min', min], ['max', max]] as const) {
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new InvalidReplicasError(value, `${name} must be a whole number`);
    if (n < 1) throw new InvalidReplicasError(value, `${name} must be at least 1 (the autoscaler cannot scale to zero)`);
    if (n > MAX_REPLICAS) throw new InvalidReplicasError(value, `${name} must be at most ${MAX_REPLICAS}`);
  }
  if ((min as number) > (max as number)) throw new InvalidReplicasError(value, 'min is greater than max');
  return { min: min as number, max: max as number };
}

/**
 * Parses the CLI's `--replicas` value: `min..max` (`2..8`) or a single count (`3`, meaning 3..3).
 * @throws InvalidReplicasError
 */
export function parseReplicaRange(text: string): ReplicaRange {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*(?:\.\.\s*(-?\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (!match) throw new InvalidReplicasError(text, 'expected min..max, e.g. 2..10, or one number');
  const min = Number(match[1]);
  return checkReplicas({ min, max: match[2] === undefined ? min : Number(match[2]) });
}

// An OCI image reference: registry/path[:tag][@digest], lower-case path, no spaces.
const IMAGE_PATTERN =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
// A DNS-1123 label, which Kubernetes requires of namespaces.
const NAMESPACE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates deployment options field by field and fills in the defaults. Public so a CLI can check
 * its flags before doing anything else.
 * @throws UnknownProviderError | UnknownTierError | InvalidReplicasError | InvalidDeploymentOptionError
 */
export function resolveDeploymentOptions(options: DeploymentOptions): ResolvedDeploymentOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidDeploymentOptionError('options', options, 'an object with provider and tier');
  }
  const provider = checkProvider(options.provider);
  const tier = checkTier(options.tier);
  const sizing = TIER_SIZING[tier];
  const replicas = options.replicas === undefined ? sizing.replicas : checkReplicas(options.replicas);
  const image = options.image;
  if (image === undefined) {
    throw new InvalidDeploymentOptionError('image', image, 'the image the pods run (build the Dockerfile and push it), e.g. registry.example.com/governor:1.2.3');
  }
  if (typeof image !== 'string' || image.length > 255 || !IMAGE_PATTERN.test(image)) {
    throw new InvalidDeploymentOptionError('image', image, 'an image reference such as registry.example.com/governor:1.2.3');
  }
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidDeploymentOptionError(
      'namespace',
      namespace,
      'a DNS label: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit',
    );
  }
  const { primary, secondary } = PROVIDER_REGIONS[provider];
  const regions = sizing.spread === 'zones-and-regions' ? [primary, secondary] : [primary];
  return { provider, tier, region: primary, regions, sizing, replicas, image, namespace };
}
