/**
 * Headless Chromium for the browser tests and the console screenshot: Debian's `chromium`
 * package driven by playwright-core, never a browser download. A missing Chromium is an error,
 * not a skip: CI installs it (.ci/run), so a test that cannot run must say so.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * NOTE: the machine's network is closed: without the background-networking flags Chromium keeps
 * trying to reach Google's services. Playwright gives every launch a fresh, empty profile
 * (its own --user-data-dir) and adds --headless.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing (${CHROMIUM_PATH}): the browser tests need Debian's chromium package. ` +
        'Install it with `sudo apt-get install -y chromium` (.ci/run does this on CI).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
