import type { Command } from 'commander';
import { emit, table } from '../output.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { testOnlyVariablesAmong } from '../node-environment.ts';

// Loaded when a deploy command runs: the Kubernetes models are large, and other commands
// should not pay for them at start-up.
const deployment = () => import('../../deployment/index.ts');

interface DeployFlags {
  provider: string;
  tier: string;
  replicas?: string;
  image?: string;
  namespace?: string;
  json?: boolean;
}

function options(flags: DeployFlags, parseReplicaRange: (text: string) => unknown) {
  return {
    provider: flags.provider as never,
    tier: flags.tier as never,
    ...(flags.replicas ? { replicas: parseReplicaRange(flags.replicas) as never } : {}),
    image: flags.image as string,
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
  };
}

export function deployCommand(program: Command): void {
  const deploy = program.command('deploy').description('Kubernetes manifests and cost estimates for Governor nodes');
  deploy
    .command('render')
    .description('print Namespace, ConfigMap, Service, Deployment, HPA, PodDisruptionBudget (YAML); the Secret they read is created by hand (the leading comment says how)')
    .requiredOption('--provider <provider>', 'aws, gcp or azure')
    .requiredOption('--tier <tier>', 'community, professional or enterprise')
    .requiredOption('--image <image>', 'the container image the pods run, built from the Dockerfile and pushed where the cluster pulls from')
    .option('--replicas <min..max>', 'replica range, e.g. 2..10 (default: the tier\'s)')
    .option('--namespace <ns>', 'Kubernetes namespace')
    .action(async (flags: DeployFlags) => {
      const { manifestsToYaml, renderManifests, parseReplicaRange } = await deployment();
      const manifests = renderManifests(options(flags, parseReplicaRange));
      // A test-only setting (GOVERNOR_TEST_CLOCK) in a manifest would run production on simulated time.
      const container = manifests.deployment.spec?.template.spec?.containers[0];
      const testOnly = testOnlyVariablesAmong([...Object.keys(manifests.configMap.data ?? {}), ...(container?.env ?? []).map((entry) => entry.name)]);
      if (testOnly.length > 0) throw new CliError(`deploy render would set ${testOnly.join(', ')}, which is for tests only: refusing to print the manifests (a bug, please report it)`, EXIT.internal);
      process.stdout.write(manifestsToYaml(manifests));
    });
  deploy
    .command('cost')
    .description('monthly cost per provider rates, with recommendations and their savings')
    .requiredOption('--provider <provider>', 'aws, gcp or azure')
    .requiredOption('--tier <tier>', 'community, professional or enterprise')
    .option('--replicas <min..max>', 'replica range, e.g. 2..10')
    .option('--json', 'print JSON')
    .action(async (flags: DeployFlags) => {
      const { estimateMonthlyCost, recommendSavings, parseReplicaRange } = await deployment();
      const estimate = estimateMonthlyCost(options(flags, parseReplicaRange));
      const { recommendations } = recommendSavings(options(flags, parseReplicaRange));
      emit({ estimate, recommendations }, flags.json === true, () =>
        [
          `${estimate.provider} ${estimate.region}, ${estimate.tier}: rates as of ${estimate.ratesAsOf}`,
          table([
            ['', 'at min replicas', 'at max replicas'],
            ...estimate.atMin.lines.map((line, i) => [line.description, line.monthly, estimate.atMax.lines[i]?.monthly ?? '']),
            ['total (USD/month)', estimate.atMin.total, estimate.atMax.total],
          ]),
          ...recommendations.map((r) => `- ${r.action} (saves ${r.monthlySaving} USD/month)`),
        ].join('\n'),
      );
    });
}
