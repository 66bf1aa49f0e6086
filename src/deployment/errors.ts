import { GovernorError } from '../errors.ts';

/** A cloud provider Governor has no manifests or rates for. */
export class UnknownProviderError extends GovernorError {
  constructor(readonly provider: unknown) {
    super('UNKNOWN_PROVIDER', `unknown provider ${JSON.stringify(provider)}: use one of aws, gcp, azure`);
  }
}

/** A tier that does not exist. */
export class UnknownTierError extends GovernorError {
  constructor(readonly tier: unknown) {
    super('UNKNOWN_TIER', `unknown tier ${JSON.stringify(tier)}: use one of community, professional, enterprise`);
  }
}

/** A replica range that cannot be scheduled or autoscaled. */
export class InvalidReplicasError extends GovernorError {
  constructor(
    readonly replicas: unknown,
    problem: string,
  ) {
    super(
      'INVALID_REPLICAS',
      `invalid replicas ${describe(replicas)}: ${problem}; give whole numbers with 1 ≤ min ≤ max ≤ 1000, e.g. 2..10`,
    );
  }
}

/** Any other deployment or cost option out of range: image, namespace, measured usage, egress. */
export class InvalidDeploymentOptionError extends GovernorError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super('INVALID_DEPLOYMENT_OPTION', `deployment option "${option}" must be ${expected}, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
