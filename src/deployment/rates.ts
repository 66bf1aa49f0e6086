import type { CloudProvider, DeploymentTier } from './options.ts';

/**
 * When the rate table was compiled. The rates are approximate public on-demand list prices in USD,
 * from the sources named per entry; they are not a quote, they drift, and they must be checked
 * against the providers' price pages before anyone budgets with them. `docs/deployment-rates.md`
 * holds the same table with the same date: change both together.
 */
export const RATES_AS_OF = '2026-11-22';

/** Billing hours in a month, as AWS, Google Cloud and Azure calculators use (8,760 h ÷ 12). */
export const HOURS_PER_MONTH = 730;

/** Managed Redis for one tier: the product sized for it, and its monthly list price. */
export interface RedisRate {
  readonly product: string;
  /** USD per month, a decimal string. */
  readonly monthly: string;
}

/** One provider's rates. Money is decimal strings, never binary floats. */
export interface ProviderRates {
  readonly provider: CloudProvider;
  readonly region: string;
  /** The compute product the per-vCPU and per-GB rates come from. */
  readonly computeProduct: string;
  /** USD per vCPU-hour. */
  readonly vcpuHour: string;
  /** USD per GB of memory per hour. */
  readonly gbHour: string;
  readonly redis: Readonly<Record<DeploymentTier, RedisRate>>;
  /** USD per GB of internet egress (first pricing band). */
  readonly egressPerGb: string;
  /** Where the figures come from (names of the public price pages). */
  readonly sources: readonly string[];
}

/**
 * The rate table. Compute is priced per pod resource (pod-priced Kubernetes: EKS on Fargate, GKE
 * Autopilot, Azure Container Instances as AKS virtual nodes), so an estimate follows the requests
 * in the manifests directly. Redis: a single small node for Community; a primary and a replica
 * (or the provider's HA tier) for Professional and Enterprise. Monthly Redis prices are
 * hourly list prices × 730, rounded to the cent.
 */
export const RATE_TABLE: Readonly<Record<CloudProvider, ProviderRates>> = {
  aws: {
    provider: 'aws',
    region: 'us-east-1',
    computeProduct: 'Amazon EKS on AWS Fargate, Linux/x86',
    vcpuHour: '0.04048',
    gbHour: '0.004445',
    redis: {
      community: { product: 'ElastiCache cache.t4g.small × 1 ($0.032/h)', monthly: '23.36' },
      professional: { product: 'ElastiCache cache.m6g.large × 2, primary + replica ($0.149/h each)', monthly: '217.54' },
      enterprise: { product: 'ElastiCache cache.r6g.xlarge × 2, primary + replica ($0.411/h each)', monthly: '600.06' },
    },
    egressPerGb: '0.09',
    sources: ['AWS Fargate pricing', 'Amazon ElastiCache pricing (on-demand nodes)', 'Amazon EC2 on-demand pricing: data transfer out to the internet'],
  },
  gcp: {
    provider: 'gcp',
    region: 'us-central1',
    computeProduct: 'GKE Autopilot, general-purpose Pods',
    vcpuHour: '0.0445',
    gbHour: '0.0049225',
    redis: {
      community: { product: 'Memorystore for Redis, Basic, 1 GB ($0.049/GB-h)', monthly: '35.77' },
      professional: { product: 'Memorystore for Redis, Standard (HA), 6 GB ($0.054/GB-h)', monthly: '236.52' },
      enterprise: { product: 'Memorystore for Redis, Standard (HA), 26 GB ($0.044/GB-h)', monthly: '835.12' },
    },
    egressPerGb: '0.12',
    sources: ['Google Kubernetes Engine pricing (Autopilot)', 'Memorystore for Redis pricing', 'Network pricing: Premium Tier internet egress'],
  },
  azure: {
    provider: 'azure',
    region: 'eastus',
    computeProduct: 'Azure Container Instances, Linux (AKS virtual nodes)',
    // $0.0000113 per vCPU-second and $0.0000012 per GB-second, × 3,600.
    vcpuHour: '0.04068',
    gbHour: '0.00432',
    redis: {
      community: { product: 'Azure Cache for Redis, Basic C1, 1 GB ($0.055/h)', monthly: '40.15' },
      professional: { product: 'Azure Cache for Redis, Standard C2 (HA), 6 GB ($0.222/h)', monthly: '162.06' },
      enterprise: { product: 'Azure Cache for Redis, Premium P2 (HA), 13 GB ($1.11/h)', monthly: '810.30' },
    },
    egressPerGb: '0.087',
    sources: ['Azure Container Instances pricing', 'Azure Cache for Redis pricing', 'Azure Bandwidth pricing: internet egress'],
  },
};
