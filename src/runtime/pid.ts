/**
 * A process identifier: `<node.serial>`, e.g. `<n1.42>`. A plain string, so it crosses any
 * transport unchanged, and branded, so a name or an arbitrary string is never taken for one.
 */
export type Pid = string & { readonly __brand: 'Pid' };

export function makePid(node: string, serial: number): Pid {
  return `<${node}.${serial}>` as Pid;
}

/** True for strings shaped like a pid. Registered names may never start with `<`. */
export function isPid(value: unknown): value is Pid {
  return typeof value === 'string' && value.startsWith('<') && value.endsWith('>') && value.includes('.');
}

/** The name of the node a pid lives on. */
export function nodeOfPid(pid: Pid): string {
  return pid.slice(1, pid.lastIndexOf('.'));
}
