import { Document } from 'yaml';
import { nodeVariableOf } from '../cli/node-environment.ts';
import { manifestList, type GovernorManifests, type SecretReference } from './manifests.ts';

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
          ` Governor ${options.tier} on ${options.provider} (${options.regions.join(', ')}), ${options.replicas.min}–${options.replicas.max} replicas of ${options.image}.`,
          ...secretInstructions(secret).map((line) => ` ${line}`),
        ].join('\n');
      }
      return document.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

/**
 * How to create the Secret the pods read, as a command to run as it is: the Redis URL from the
 * operator's shell, every key generated. `kubectl create` refuses to replace an existing Secret,
 * which is what keys that must never change need.
 */
export function secretInstructions(secret: SecretReference): string[] {
  const value = (variable: string) => (variable === 'REDIS_URL' ? '"$REDIS_URL"' : '"$(openssl rand -base64 32)"');
  const optional = secret.keys.filter((entry) => !entry.required);
  return [
    `The pods read ${secret.keys.map((entry) => entry.variable).join(', ')} from Secret ${secret.namespace}/${secret.name}, which is not rendered`,
    '(secret values do not belong in manifests). Create it once, after applying this (the pods wait for it), with REDIS_URL',
    'set in your shell to the Redis the nodes share (redis:// or rediss://, with its password):',
    `  kubectl -n ${secret.namespace} create secret generic ${secret.name} \\`,
    ...secret.keys.map((entry, i) => `    --from-literal=${entry.key}=${value(entry.variable)}${i === secret.keys.length - 1 ? '' : ' \\'}`),
    'Never replace the generated keys: every node must share them, and a new pseudonym key changes the receipts\' pseudonyms.',
    ...optional.map((entry) => `Optional, a pod starts without it: ${entry.key} (without it, ${nodeVariableOf(entry.variable).default}).`),
  ];
}
