import { inspect } from 'node:util';

/** Prints a result as JSON (`--json`, for scripts) or as readable text. */
export function emit(value: unknown, json: boolean, text?: () => string): void {
  if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${text ? text() : inspect(value, { depth: 8, colors: process.stdout.isTTY === true })}\n`);
}

/** A fixed-width table of rows, for text output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
