import { GovernorError } from '../../errors.ts';

/** Where Redis is: one server, or the seed nodes of a Redis Cluster. */
export type RedisLocation =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

/** A Redis URL Governor cannot use; the message says what a good one looks like. */
export class InvalidRedisUrlError extends GovernorError {
  constructor(url: string, problem: string) {
    super(
      'INVALID_REDIS_URL',
      `the Redis URL "${redact(url)}" ${problem}: use redis://host:port (or rediss:// for TLS) for one Redis, ` +
        `or redis+cluster://host1:port1,host2:port2 (rediss+cluster:// for TLS) for a Redis Cluster`,
    );
  }
}

const CLUSTER_SCHEMES = new Map([
  ['redis+cluster:', false],
  ['rediss+cluster:', true],
]);

/**
 * Reads a Redis URL. `redis://` and `rediss://` are one server (given to ioredis as they are);
 * `redis+cluster://[user:password@]host:port[,host:port…]` is a Redis Cluster: the nodes listed
 * are seeds, ioredis learns the rest of the cluster from them. A scheme in the URL, not a flag
 * beside it, so every place that takes a Redis URL (`--redis`, `REDIS_URL`, the `url` option)
 * takes a cluster with no option added.
 */
export function parseRedisUrl(url: string): RedisLocation {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new InvalidRedisUrlError(url, 'has no scheme');
  const tls = CLUSTER_SCHEMES.get(scheme);
  if (tls === undefined) {
    if (scheme !== 'redis:' && scheme !== 'rediss:') throw new InvalidRedisUrlError(url, `has the scheme "${scheme}"`);
    return { kind: 'single', url };
  }
  let rest = url.slice(scheme.length + 2);
  const slash = rest.search(/[/?#]/);
  if (slash >= 0) {
    const tail = rest.slice(slash);
    // A database number means nothing on a cluster (it has only database 0).
    if (!/^\/?0?$/.test(tail)) throw new InvalidRedisUrlError(url, `ends with "${tail}", but a cluster URL takes no database or options`);
    rest = rest.slice(0, slash);
  }
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    const user = decode(url, colon >= 0 ? credentials.slice(0, colon) : credentials);
    if (user !== '') username = user;
    if (colon >= 0) password = decode(url, credentials.slice(colon + 1));
  }
  if (rest === '') throw new InvalidRedisUrlError(url, 'names no node');
  const nodes = rest.split(',').map((node) => {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/i.exec(node);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) throw new InvalidRedisUrlError(url, `has the node "${node}", not host:port`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return { kind: 'cluster', nodes, tls, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

/** Whether a URL names a Redis Cluster (`redis+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//i.test(url);
}

function decode(url: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidRedisUrlError(url, 'has badly percent-encoded credentials');
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** A Redis URL fit for a message or a log: its password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
