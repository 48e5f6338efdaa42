/**
 * Headless Chromium for browser tests (Debian's `chromium`, driven by
 * playwright-core; `.ci/run` installs it). Always close the browser in an
 * `after` hook so the test runner can exit.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';

/** True when a Chromium binary is available (tests may `skip` with a reason otherwise). */
export function browserAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Fills the IdP's login form (ids as Keycloak's: #username, #password,
 * #kc-login) on the current page and submits it, waiting for the navigation
 * that follows. The page must already show the login form.
 */
export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.waitForSelector('#username', { timeout: 15_000 });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: 15_000 }),
    page.click('#kc-login'),
  ]);
}
