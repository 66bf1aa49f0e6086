import type { Admin } from '../cli/admin.ts';

/** One process of the supervision tree as the observer draws it. */
export interface ObservedProcess {
  readonly id: string;
  readonly pid: string | undefined;
  readonly kind: string;
  readonly name: string | undefined;
  readonly stateValue: unknown;
  /** Times its supervisor restarted it (0 for the root, which nobody supervises here). */
  readonly restarts: number;
  readonly children?: readonly ObservedProcess[];
}

interface TreeRow {
  id: string;
  pid?: string;
  kind: string;
  name?: string;
  stateValue?: unknown;
  children?: TreeRow[];
}

interface ChildRow {
  id: string;
  pid?: string;
  restarts?: number;
}

/**
 * The supervision tree with each child's restart count: `tree()` gives the shape and state values,
 * `which_children` of every supervisor the restart counts. Both through the {@link Admin}, so the
 * same code reads a node in this process and, over the admin protocol, one elsewhere.
 */
export async function observedTree(admin: Admin): Promise<ObservedProcess> {
  const root = (await admin.tree()) as TreeRow;
  return withRestarts(admin, root, 0);
}

async function withRestarts(admin: Admin, row: TreeRow, restarts: number): Promise<ObservedProcess> {
  const base = { id: row.id, pid: row.pid, kind: row.kind, name: row.name, stateValue: row.stateValue ?? null, restarts };
  if (!row.children) return base;
  // A supervisor gone between the two reads has no children to count: draw it without counts.
  const rows = row.pid && row.pid !== 'restarting' ? await childRows(admin, row.pid) : [];
  const byPid = new Map(rows.map((child) => [child.pid, child.restarts ?? 0]));
  const byId = new Map(rows.map((child) => [child.id, child.restarts ?? 0]));
  // A simple_one_for_one supervisor's children share one id: matched by pid first.
  const children = await Promise.all(row.children.map((child) => withRestarts(admin, child, byPid.get(child.pid) ?? byId.get(child.id) ?? 0)));
  return { ...base, children };
}

async function childRows(admin: Admin, pid: string): Promise<ChildRow[]> {
  try {
    const rows = await admin.which_children(pid);
    return Array.isArray(rows) ? (rows as ChildRow[]) : [];
  } catch {
    return [];
  }
}
