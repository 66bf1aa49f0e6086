/**
 * True for the addresses only this machine can reach. Its own file, with no imports, so
 * `governor start` checks `--observer-host` without loading the observer.
 */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
