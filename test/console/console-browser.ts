import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';

/** Screenshots of the console tests (gitignored). */
export const SCREENSHOT_DIR = resolve(__dirname, '..', 'artifacts', 'console');

/** Debian's Chromium, headless, without the background services that would try to reach the internet. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Keeps a full-page screenshot under test/artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Waits until the locator's text contains `text` (the console re-renders on its 500 ms poll). The deadline is for a
 * broken run only, as long as `waitFor`'s: a browser on a loaded machine takes its time.
 */
export async function waitForText(locator: Locator, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = await locator.innerText().catch(() => '');
    if (last.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear; the text was:\n${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fails the test on any error the page's script throws or logs. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}
