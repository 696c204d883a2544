/**
 * Screenshots of dashboard pages on a phone and a wide screen. They go to a temporary folder,
 * removed afterwards, so a test run leaves the working tree as it was; into docs/screenshots/
 * (the pictures docs/dashboard.md shows) only with TASKLOOM_UPDATE_SCREENSHOTS=1.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, Request, Response } from 'playwright-core';
import { expect } from 'vitest';
import { viewports } from './browser.ts';

const documentedScreenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');
/** Rewriting the committed pictures is a decision, not a side effect of `npm test`. */
const updateScreenshots = process.env.TASKLOOM_UPDATE_SCREENSHOTS === '1';

export interface ScreenshotFolder {
  path: string;
  /** Removes the folder when it is a temporary one. */
  cleanUp(): Promise<void>;
}

export async function screenshotFolder(): Promise<ScreenshotFolder> {
  if (updateScreenshots) {
    await mkdir(documentedScreenshots, { recursive: true });
    return { path: documentedScreenshots, cleanUp: async () => {} };
  }
  const folder = await mkdtemp(path.join(os.tmpdir(), 'taskloom-screenshots-'));
  return { path: folder, cleanUp: () => rm(folder, { recursive: true, force: true }) };
}

export interface Shot {
  /** File name without the `-desktop.png` / `-phone.png` ending. */
  name: string;
  path: string;
  /** Selectors that must be present before the picture is taken. */
  ready: string[];
}

/**
 * Waits for one of a shot's selectors; when it never comes, the error says what the page showed
 * instead (an error notice, a stream state, how many events arrived) and which of its requests
 * failed, which a timeout alone does not.
 */
async function waitForReady(page: Page, shot: Shot, selector: string, failedRequests: string[]): Promise<void> {
  try {
    await page.locator(selector).first().waitFor({ timeout: 30_000 });
  } catch (error) {
    const seen = await page.evaluate(() => ({
      url: location.href,
      streamState: document.querySelector('[data-stream-state]')?.getAttribute('data-stream-state') ?? null,
      events: document.querySelectorAll('[data-event-type]').length,
      lastEvent: Array.from(document.querySelectorAll('[data-event-type]')).at(-1)?.getAttribute('data-event-type') ?? null,
      text: (document.querySelector('main') ?? document.body).textContent?.replace(/\s+/g, ' ').slice(0, 800) ?? '',
    })).catch((reason: unknown) => ({ unreadable: String(reason) }));
    throw new Error(`${shot.name}: ${selector} did not appear; the page showed ${JSON.stringify(seen)}; requests that failed: ${JSON.stringify(failedRequests.slice(-20))}`, { cause: error });
  }
}

/**
 * Each shot at each viewport; fails when a page overflows the screen sideways (wide tables
 * must scroll inside their panels). `serverOutput`, when the server is a process of its own,
 * adds its last output to a failure.
 */
export async function takeScreenshots(page: Page, baseUrl: string, folder: string, shots: Shot[], options: { serverOutput?: () => string } = {}): Promise<void> {
  const failedRequests: string[] = [];
  const onResponse = (response: Response): void => {
    if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
  };
  const onFailure = (request: Request): void => {
    failedRequests.push(`failed ${request.url()}: ${request.failure()?.errorText ?? 'unknown'}`);
  };
  page.on('response', onResponse);
  page.on('requestfailed', onFailure);
  try {
    await takeEach(page, baseUrl, folder, shots, failedRequests);
  } catch (error) {
    if (!options.serverOutput) throw error;
    throw new Error(`${(error as Error).message}\nthe server's last output:\n${options.serverOutput().slice(-3000)}`, { cause: error });
  } finally {
    page.off('response', onResponse);
    page.off('requestfailed', onFailure);
  }
}

async function takeEach(page: Page, baseUrl: string, folder: string, shots: Shot[], failedRequests: string[]): Promise<void> {
  for (const [width, viewport] of Object.entries(viewports)) {
    await page.setViewportSize(viewport);
    for (const shot of shots) {
      await page.goto(baseUrl + shot.path);
      for (const selector of shot.ready) await waitForReady(page, shot, selector, failedRequests);
      await page.waitForTimeout(400);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${shot.name} overflows a ${width} screen by ${overflow}px`).toBeLessThanOrEqual(0);
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      // Long pages are cut at three screens: enough to show the layout, small enough for a README.
      await page.screenshot({ path: path.join(folder, `${shot.name}-${width}.png`), fullPage: true, clip: { x: 0, y: 0, width: viewport.width, height: Math.min(height, viewport.height * 3) } });
    }
  }
}
