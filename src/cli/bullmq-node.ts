import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { startBullmqNode, installSignalHandlers } from '../transport/bullmq/index.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import { LocalAdmin } from './admin.ts';
import { startAdminListener } from './admin-listener.ts';
import { adminCommands, startRepl } from './repl.ts';
import { EXIT } from './exit-codes.ts';

/**
 * `governor start` with Redis: a BullMQ node hosting the marketplace's entities, sharing the work
 * with every other node on the same Redis. Headless (it runs until SIGTERM/SIGINT) unless
 * `shell` attaches the admin REPL.
 */
export async function startBullmq(options: { url: string; shell: boolean; name?: string; logger: Logger }): Promise<number> {
  const pseudonymKey = process.env.GOVERNOR_PSEUDONYM_KEY ?? randomBytes(32).toString('base64url');
  if (!process.env.GOVERNOR_PSEUDONYM_KEY) {
    options.logger.warn('GOVERNOR_PSEUDONYM_KEY is not set: receipt pseudonyms will differ between nodes and restarts');
  }
  let started;
  try {
    started = await startBullmqNode({ url: options.url, name: options.name, logger: options.logger, kinds: marketplaceKinds({ pseudonymKey }), onGiveUp: () => process.exit(EXIT.gaveUp) });
  } catch (error) {
    process.stderr.write(`governor: cannot start a BullMQ node on ${options.url}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.unavailable;
  }
  const { node, transport } = started;
  options.logger.info({ node: node.name }, 'node started');
  const admin = new LocalAdmin(node, () => node.whereis('entities'));
  // `governor repl --redis` reaches this node through its admin list; mutations need the token.
  const listener = startAdminListener({ url: options.url, prefix: transport.settings.prefix, node: node.name, admin, token: process.env.GOVERNOR_ADMIN_TOKEN || undefined, logger: options.logger });
  if (!options.shell) {
    process.stdout.write(`Governor node "${node.name}" is running on ${options.url}; SIGTERM or Ctrl-C stops it.\n`);
    installSignalHandlers(node, transport);
    await new Promise(() => {}); // until a signal handler exits the process
  }
  await startRepl(adminCommands(admin, (line) => process.stdout.write(`${line}\n`)), { prompt: `governor(${node.name})> ` });
  await listener.stop();
  await started.stop({ timeoutMs: 10_000 });
  return EXIT.ok;
}
