import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from './import-graph.ts';

const eslint = new ESLint({ cwd: ROOT });

/** The boundary and timer rules a file at `path` breaks with `code` (its other findings ignored). */
async function broken(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${path}` });
  return result!.messages
    .filter((message) => ['no-restricted-imports', 'no-restricted-globals', 'no-restricted-properties'].includes(message.ruleId ?? ''))
    .map((message) => message.message);
}

// The README's folder table, as `npm run lint` enforces it: a wrong-way import fails the lint.
describe('the lint rules on layer boundaries', () => {
  it('keep the kernel from importing a transport, the CLI, an entry point or I/O packages', async () => {
    expect(await broken('src/runtime/probe.ts', "import { BullmqTransport } from '../transport/bullmq/bullmq-transport.ts';\nexport { BullmqTransport };\n")).toEqual([
      expect.stringContaining('src/runtime (the kernel) must not import transport/'),
    ]);
    expect(await broken('src/runtime/supervisor/probe.ts', "export * from '../../cli/main.ts';\n")).toEqual([expect.stringContaining('must not import cli/')]);
    expect(await broken('src/runtime/probe.ts', "export { createNode } from '../create-node.ts';\n")).toEqual([expect.stringContaining('a package entry point')]);
    expect(await broken('src/runtime/probe.ts', "export { Redis } from 'ioredis';\n")).toEqual([expect.stringContaining('must not load ioredis')]);
  });

  it('keep the marketplace pure: no runtime, no I/O packages', async () => {
    expect(await broken('src/marketplace/probe.ts', "export { Node } from '../runtime/node.ts';\n")).toEqual([expect.stringContaining('src/marketplace must not import runtime/')]);
    expect(await broken('src/marketplace/probe.ts', "export { createServer } from 'node:http';\n")).toEqual([expect.stringContaining('must not load node:http')]);
    expect(await broken('src/marketplace/probe.ts', "export { Queue } from 'bullmq';\n")).toEqual([expect.stringContaining('must not load bullmq')]);
    // Inside the layer, and the shared leaves, are fine.
    expect(await broken('src/marketplace/probe.ts', "export { Dec } from './money.ts';\nexport { GovernorError } from '../errors.ts';\n")).toEqual([]);
  });

  it('keep machines off the CLI and transports the other way round', async () => {
    expect(await broken('machines/probe.ts', "export * from '../src/cli/main.ts';\n")).toEqual([expect.stringContaining('machines/ must not import cli/')]);
    expect(await broken('src/transport/bullmq/probe.ts', "export * from '../../cli/main.ts';\n")).toEqual([expect.stringContaining('src/transport must not import cli/')]);
    expect(await broken('src/transport/bullmq/probe.ts', "export * from '../../marketplace/money.ts';\n")).toEqual([expect.stringContaining('marketplace/ (other than canonical-json.ts)')]);
    expect(await broken('src/transport/bullmq/probe.ts', "export * from '../../marketplace/canonical-json.ts';\n")).toEqual([]);
  });

  it('allow no bare timer outside the clock module', async () => {
    expect(await broken('src/transport/bullmq/probe.ts', 'export const t = setTimeout(() => {}, 10);\n')).toEqual([expect.stringContaining('not a bare setTimeout')]);
    expect(await broken('src/cli/probe.ts', 'export const t = globalThis.setInterval(() => {}, 10);\n')).toEqual([expect.stringContaining('not the host timer')]);
    expect(await broken('src/cli/probe.ts', "export { setTimeout } from 'node:timers/promises';\n")).toEqual([expect.stringContaining('timers go through the runtime clock')]);
    expect(await broken('src/runtime/clock.ts', 'export const t = setTimeout(() => {}, 10);\n')).toEqual([]);
  });
});
