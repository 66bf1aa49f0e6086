import { redactUrl } from '../transport/bullmq/redis-url.ts';

/**
 * The first line `governor start` prints, saying which kind of node this is before anything else
 * happens: with REDIS_URL in the environment a plain `governor start` becomes a cluster node,
 * and a person who expected the embedded REPL should learn it at once, and how to get the REPL.
 */
export function clusterBanner(url: string, prefix: string, fromEnv: boolean): string {
  const source = fromEnv ? ' (REDIS_URL is set; governor start --embedded runs the embedded node with the REPL instead)' : '';
  return `Governor cluster node: joining the nodes on ${redactUrl(url)}, prefix ${prefix}${source}.`;
}
