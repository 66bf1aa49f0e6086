/** The Redis URLs nodes, producers and the CLI take: one server, or a cluster's seed nodes. */
import { describe, expect, it } from 'vitest';
import { InvalidRedisUrlError, isClusterUrl, parseRedisUrl } from '../../src/transport/bullmq/redis-url.ts';

describe('parseRedisUrl', () => {
  it('passes one server’s URL through as it is', () => {
    expect(parseRedisUrl('redis://h:6379/2')).toEqual({ kind: 'single', url: 'redis://h:6379/2' });
    expect(parseRedisUrl('rediss://u:p@h:6380')).toEqual({ kind: 'single', url: 'rediss://u:p@h:6380' });
    expect(isClusterUrl('redis://h:6379')).toBe(false);
  });

  it('reads a cluster’s seed nodes, credentials and TLS', () => {
    expect(parseRedisUrl('redis+cluster://h1:7000,h2:7001')).toEqual({ kind: 'cluster', tls: false, nodes: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 7001 }] });
    expect(parseRedisUrl('rediss+cluster://default:p%40ss@h1:7000/')).toEqual({ kind: 'cluster', tls: true, username: 'default', password: 'p@ss', nodes: [{ host: 'h1', port: 7000 }] });
    expect(parseRedisUrl('redis+cluster://:secret@[::1]:7000')).toEqual({ kind: 'cluster', tls: false, password: 'secret', nodes: [{ host: '::1', port: 7000 }] });
    expect(isClusterUrl('REDIS+CLUSTER://h:1')).toBe(true);
  });

  it.each([
    ['h1:7000', /has no scheme/],
    ['http://h:80', /has the scheme "http:"/],
    ['redis+cluster://', /names no node/],
    ['redis+cluster://h1', /has the node "h1", not host:port/],
    ['redis+cluster://h1:7000,,h2:7001', /has the node "", not host:port/],
    ['redis+cluster://h1:99999', /not host:port/],
    ['redis+cluster://h1:7000/3', /takes no database or options/],
    ['redis+cluster://u:%zz@h1:7000', /badly percent-encoded/],
  ])('refuses %s, saying what a good URL looks like', (url, problem) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidRedisUrlError);
    expect((error as InvalidRedisUrlError).code).toBe('INVALID_REDIS_URL');
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).toContain('redis+cluster://host1:port1,host2:port2');
  });

  it('never shows a password in its refusal', () => {
    expect(() => parseRedisUrl('redis+cluster://u:hunter2@h1')).toThrow(/^(?!.*hunter2)/s);
  });
});
