/**
 * The Learning page's knowledge browser under a live big job, in a real browser against a real
 * `taskloom serve` (offline, WordNet): it re-reads the knowledge a few times while the job runs,
 * not on every job document, and keeps the list and the open entry on screen while it re-reads.
 *
 * Before, every document whose token count changed re-read `/knowledge` (and the open word): an
 * offline big job sends ~17 documents a second, so the page made 17-34 requests a second and hit
 * the per-key rate limit (1,200 a minute) after ~40 s, Cancel included; and each re-read blanked
 * the list and the entry first.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, signInDirectly, type TestBrowser } from '../browser/support/browser.ts';
import { startServer, type TestServer } from '../browser/support/server.ts';

/** Seconds the big job runs. */
const budgetSeconds = 12;

let server: TestServer;
let browser: TestBrowser;
let page: Page | undefined;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ TASKLOOM_LEARNING_BUDGET_SECONDS: String(budgetSeconds), TASKLOOM_LEARNING_SOURCE: 'wordnet' }), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await page?.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  expect(browser?.problems ?? []).toEqual([]);
}, 30_000);

/** Whether a request is one of the knowledge browser's reads (the list or one word). */
function knowledgeRead(url: string): boolean {
  return /^\/knowledge(\/|$)/.test(new URL(url).pathname);
}

it('re-reads the knowledge at most about once a second while a big job runs, without blanking it', async () => {
  page = await browser.newPage();
  const reads: string[] = [];
  const statuses: number[] = [];
  page.on('request', (request) => {
    if (knowledgeRead(request.url())) reads.push(request.url());
  });
  page.on('response', (response) => {
    if (new URL(response.url()).origin === new URL(server.url).origin) statuses.push(response.status());
  });
  await signInDirectly(page, server.url, server.apiKey);
  await page.goto(`${server.url}/learning`);
  await page.getByRole('button', { name: 'Start Big Learning Job' }).click();
  await page.waitForURL(/\/learning\/jobs\/[0-9a-f-]{36}$/);
  const jobId = page.url().split('/').at(-1)!;
  const job = page.getByTestId('learning-job');
  const browserPanel = page.getByTestId('knowledge-browser');

  // Open the first word learned, so the entry is re-read too.
  await expect.poll(() => browserPanel.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
  await browserPanel.locator('tbody tr').first().getByRole('button').click();
  await page.getByTestId('knowledge-entry').getByRole('heading').waitFor();

  // From here on, any moment the list has no rows or the entry is gone is recorded (a
  // MutationObserver runs before the next paint, so a blank frame is seen).
  await page.evaluate(() => {
    const panel = document.querySelector('[data-testid="knowledge-browser"]')!;
    const blanks: string[] = [];
    (window as unknown as { blanks: string[] }).blanks = blanks;
    new MutationObserver(() => {
      if (panel.querySelectorAll('tbody tr').length === 0) blanks.push('list');
      if (!panel.querySelector('[data-testid="knowledge-entry"] article')) blanks.push('entry');
    }).observe(panel, { childList: true, subtree: true, characterData: true });
  });
  const watchedFrom = Date.now();
  const readsBefore = reads.length;

  await expect.poll(() => job.getByRole('status').getAttribute('data-status'), { timeout: (budgetSeconds + 30) * 1000 }).toBe('completed');
  // The final re-read shows the end state: the header counts the words the job left.
  const end = await server.api<{ known_words: number }>('/knowledge?limit=1');
  await expect.poll(() => browserPanel.locator('.panel-header').textContent(), { timeout: 5000 }).toContain(`${end.body.known_words.toLocaleString('en-GB')} known`);
  // A trailing re-read may still be due: let it come, so it is counted.
  await page.waitForTimeout(2500);

  const watchedSeconds = (Date.now() - watchedFrom) / 1000;
  const readsWhileWatched = reads.length - readsBefore;
  const finished = await server.api<{ status: string; total_tokens: number }>(`/jobs/${jobId}`);
  expect(finished.body.status).toBe('completed');
  expect(finished.body.total_tokens).toBeGreaterThan(0);
  // Two reads (list and entry) every 2 s is one a second; plus the end's and a trailing pair.
  // Before: 17-34 a second.
  expect(readsWhileWatched, `${readsWhileWatched} knowledge reads in ${watchedSeconds.toFixed(1)} s`).toBeLessThanOrEqual(Math.ceil(watchedSeconds) + 6);
  // It did re-read while the job ran, not only at the end (the end's pair and a trailing pair
  // are four).
  expect(readsWhileWatched).toBeGreaterThanOrEqual(6);
  expect(await page.evaluate(() => (window as unknown as { blanks: string[] }).blanks)).toEqual([]);
  expect(statuses.filter((status) => status === 429)).toEqual([]);
}, 90_000);
