import { Document } from 'yaml';
import { manifestList, type GovernorManifests } from './manifests.ts';

/**
 * Renders manifests as one multi-document YAML stream for `kubectl apply -f -`, led by a comment
 * saying what it is and which Secret it expects. Documents come from the models' JSON through the
 * `yaml` library, so quoting and escaping are the library's job, not a template's.
 *
 * @example
 * process.stdout.write(manifestsToYaml(renderManifests({ provider: 'gcp', tier: 'enterprise' })));
 */
export function manifestsToYaml(manifests: GovernorManifests): string {
  const { options, secret } = manifests;
  return manifestList(manifests)
    .map((object, index) => {
      const document = new Document(object.toJSON());
      if (index === 0) {
        document.commentBefore = [
          ` Governor ${options.tier} on ${options.provider} (${options.regions.join(', ')}), ${options.replicas.min}–${options.replicas.max} replicas.`,
          ` Expects Secret ${secret.namespace}/${secret.name} with keys redis-url and admin-token:`,
          `   kubectl -n ${secret.namespace} create secret generic ${secret.name} --from-literal=redis-url=... --from-literal=admin-token=...`,
        ].join('\n');
      }
      return document.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
