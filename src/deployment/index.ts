/**
 * Deployment planning: Kubernetes manifests for Governor nodes per provider and tier (typed,
 * schema-valid models), their YAML, and monthly cost estimates with savings advice from a dated
 * rate table. See README.md in this folder.
 */
export {
  PROVIDERS,
  TIERS,
  PROVIDER_REGIONS,
  DEFAULT_SIZING,
  TIER_SIZING,
  CPU_TARGET_PERCENT,
  MEMORY_TARGET_PERCENT,
  MAX_REPLICAS,
  DEFAULT_NAMESPACE,
  resolveDeploymentOptions,
  parseReplicaRange,
  checkProvider,
  checkTier,
  checkReplicas,
} from './options.ts';
export type {
  CloudProvider,
  DeploymentTier,
  ReplicaRange,
  TierSizing,
  DeploymentOptions,
  ResolvedDeploymentOptions,
} from './options.ts';
export { renderManifests, manifestList, secretKeyOf, APP_NAME, TERMINATION_GRACE_SECONDS } from './manifests.ts';
export type { GovernorManifests, SecretReference } from './manifests.ts';
export { manifestsToYaml } from './yaml.ts';
export { RATE_TABLE, RATES_AS_OF, HOURS_PER_MONTH } from './rates.ts';
export type { ProviderRates, RedisRate } from './rates.ts';
export { estimateMonthlyCost } from './cost.ts';
export type { CostOptions, CostItem, CostLine, CostBreakdown, MonthlyCostEstimate } from './cost.ts';
export { recommendSavings } from './recommendations.ts';
export type { MeasuredUsage, RecommendationOptions, RecommendationKind, Recommendation } from './recommendations.ts';
export {
  UnknownProviderError,
  UnknownTierError,
  InvalidReplicasError,
  InvalidDeploymentOptionError,
} from './errors.ts';
