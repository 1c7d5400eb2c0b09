// Headless Chromium for tests that drive a web page (the Temporal UI), through playwright-core.
// The browser is Debian's (stack/install.sh installs it): playwright-core never downloads one.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/**
 * Flags verified on this kind of machine: without the background-networking ones, Chromium keeps
 * trying hosts the closed network refuses.
 */
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  browser: Browser;
  /** The browser's one context, on the fresh profile directory: open pages here. */
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** Starts headless Chromium on a fresh, empty profile directory. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}) {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} not found: the UI tests need Debian's chromium package; run: bash stack/install.sh`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'freshet-chromium-'));
  try {
    // Playwright takes the profile (--user-data-dir) only through a persistent context.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: flags,
      viewport: opts.viewport ?? { width: 1600, height: 1000 },
      timeout: 60_000,
    });
    const browser = context.browser();
    if (!browser) throw new Error('Chromium started without a browser object');
    const result: TestBrowser = {
      browser,
      context,
      async close() {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
    return result;
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
