/**
 * Debian's chromium driven by playwright-core, headless, with a fresh profile folder that is
 * removed on close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.TASKLOOM_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const viewports = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 390, height: 844 },
} as const;

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; page errors and failed console messages are collected in `problems`. */
  newPage(): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'taskloom-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: viewports.desktop,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const problems: string[] = [];
  return {
    context,
    problems,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Signs the page in by storing the key the way the sign-in form does (sessionStorage). */
export async function signInDirectly(page: Page, baseUrl: string, apiKey: string): Promise<void> {
  await page.goto(baseUrl + '/healthz');
  await page.evaluate((key) => sessionStorage.setItem('taskloom.apiKey', key), apiKey);
}
