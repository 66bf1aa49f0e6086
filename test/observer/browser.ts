import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it): playwright-core drives it, nothing is downloaded. */
export const CHROMIUM = process.env.GOVERNOR_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Where the tests save their screenshots: `reports/observer/` (ignored by git), so `npm test` leaves
 * the tree clean; `GOVERNOR_UPDATE_SCREENSHOTS=1` writes them to `docs/observer/`, which the README shows.
 */
export const SCREENSHOTS = fileURLToPath(
  new URL(process.env.GOVERNOR_UPDATE_SCREENSHOTS === '1' ? '../../docs/observer/' : '../../reports/observer/', import.meta.url),
);

/**
 * Headless Chromium with a fresh profile and everything that would phone out switched off: this
 * machine's network is closed, and without these flags Chromium floods it with refused connections.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'governor-chromium-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A persistent context is how playwright takes a --user-data-dir of one's own.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
