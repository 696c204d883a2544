/**
 * The Learning page in a real browser (Debian's chromium, headless) against a real
 * `taskloom serve` with no key configured: "Start Big Learning Job" runs a short big job on
 * WordNet, the page shows its status badge, progress bar, tokens-learned counter and live event
 * log, and the knowledge browser shows a learned word's entry.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, signInDirectly, viewports, type TestBrowser } from '../browser/support/browser.ts';
import { startServer, type TestServer } from '../browser/support/server.ts';
import { saveLearned } from '../../src/pipelines/learning/knowledge-store.ts';

let server: TestServer;
let browser: TestBrowser;
let page: Page | undefined;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ TASKLOOM_LEARNING_BUDGET_SECONDS: '4', TASKLOOM_LEARNING_WORDS_PER_ROUND: '200', TASKLOOM_LEARNING_WORDS_LEARNED_PER_ROUND: '40' }), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await page?.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  expect(browser?.problems ?? []).toEqual([]);
}, 30_000);

it('starts a big learning job, follows it live to completion and browses what it learned', async () => {
  page = await browser.newPage();
  await signInDirectly(page, server.url, server.apiKey);
  await page.goto(`${server.url}/learning`);
  await page.getByRole('heading', { name: 'Learning' }).waitFor();
  await page.getByRole('button', { name: 'Start Big Learning Job' }).click();
  await page.waitForURL(/\/learning\/jobs\/[0-9a-f-]{36}$/);
  const jobId = page.url().split('/').at(-1)!;

  // Live while it runs: the badge says running and the counter climbs.
  const job = page.getByTestId('learning-job');
  await expect.poll(() => job.getByRole('status').getAttribute('data-status'), { timeout: 20_000 }).toBe('running');
  await expect.poll(async () => Number((await page!.getByTestId('tokens-learned').textContent())?.replace(/\D/g, '')), { timeout: 20_000 }).toBeGreaterThan(0);

  // Then complete, at 100 %, with the job's count and its events in the log.
  await expect.poll(() => job.getByRole('status').getAttribute('data-status'), { timeout: 30_000 }).toBe('completed');
  await expect.poll(() => job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
  const document = await server.api<{ total_tokens: number; status: string }>(`/jobs/${jobId}`);
  expect(document.body.status).toBe('completed');
  await expect.poll(async () => Number((await page!.getByTestId('tokens-learned').textContent())?.replace(/\D/g, ''))).toBe(document.body.total_tokens);
  await expect.poll(() => page!.locator('[data-testid="event-log"] [data-event-id]').count(), { timeout: 10_000 }).toBeGreaterThan(3);
  expect(await page.locator('[data-testid="event-log"]').textContent()).toContain('words_learned');

  // The knowledge browser: the learned words, one word's full entry from WordNet.
  const browserPanel = page.getByTestId('knowledge-browser');
  await expect.poll(() => browserPanel.locator('tbody tr').count()).toBeGreaterThan(0);
  const first = browserPanel.locator('tbody tr').first();
  const word = (await first.getByRole('button').textContent())!.trim();
  await first.getByRole('button').click();
  const entry = page.getByTestId('knowledge-entry');
  await expect.poll(() => entry.getByRole('heading').textContent()).toContain(word);
  expect(await entry.textContent()).toContain('source wordnet-3.1');
  await page.getByLabel('Search').fill(word);
  await expect.poll(() => browserPanel.locator('tbody tr').count()).toBeGreaterThanOrEqual(1);
}, 90_000);

it('stops following a job that is not there instead of reconnecting every second', async () => {
  const missing = await browser.newPage();
  try {
    const sockets: string[] = [];
    missing.on('websocket', (socket) => {
      if (socket.url().includes('/ws/jobs/')) sockets.push(socket.url());
    });
    const reads: number[] = [];
    missing.on('response', (response) => {
      if (/^\/jobs\/[0-9a-f-]{36}$/.test(new URL(response.url()).pathname)) reads.push(response.status());
    });
    await signInDirectly(missing, server.url, server.apiKey);
    await missing.goto(`${server.url}/learning/jobs/${randomUUID()}`);
    // The page's own read, then the stream's after its refused socket: both 404, and said so.
    await expect.poll(() => reads, { timeout: 10_000 }).toEqual([404, 404]);
    await missing.getByTestId('learning-job').getByRole('alert').waitFor();
    // None follows: before, the stream tried again every second for as long as the page was open.
    await missing.waitForTimeout(2500);
    expect(sockets).toHaveLength(1);
    expect(reads).toEqual([404, 404]);
  } finally {
    await missing.close();
  }
}, 30_000);

it('leads to the big job already running when Start finds one this tab did not start', async () => {
  const started = await server.api<{ job_id: string }>('/jobs/start_big', { method: 'POST', body: { budget_seconds: 60 } });
  expect(started.status).toBe(202);
  const other = await browser.newPage();
  try {
    await signInDirectly(other, server.url, server.apiKey);
    await other.goto(`${server.url}/learning`);
    await other.getByRole('button', { name: 'Start Big Learning Job' }).click();
    const notice = other.getByTestId('job-already-running');
    await notice.waitFor();
    await notice.getByRole('link', { name: 'Follow it' }).click();
    await other.waitForURL(`${server.url}/learning/jobs/${started.body.job_id}`);
    await expect.poll(() => other.getByTestId('learning-job').getByRole('status').getAttribute('data-status'), { timeout: 20_000 }).toBe('running');
    // The job shown is the one it was about: nothing more to say.
    expect(await notice.count()).toBe(0);
    expect(await other.getByRole('alert').count()).toBe(0);
  } finally {
    await other.close();
    await server.api(`/jobs/${started.body.job_id}/cancel`, { method: 'POST' });
  }
}, 60_000);

it('pages through more known words than one page holds and, on a phone, shows a picked word\'s entry in view', async () => {
  // 230 words no WordNet round learns (their spelling is the test's), stored as a job stores them.
  const words = Array.from({ length: 230 }, (_, index) => `pagingword${String(index).padStart(3, '0')}`);
  await saveLearned(server.database.pool, { tenant: 'default', taskId: randomUUID() }, words.map((word) => ({
    normalised: word, word, definition: `The test's word number ${word.slice(-3)}.`, related_concepts: [], examples: [], category: 'noun.artifact', source: 'test', references: [],
  })));
  const phone = await browser.newPage();
  try {
    await phone.setViewportSize(viewports.phone);
    await signInDirectly(phone, server.url, server.apiKey);
    await phone.goto(`${server.url}/learning`);
    const panel = phone.getByTestId('knowledge-browser');
    await phone.getByLabel('Search').fill('pagingword');
    const shown = panel.getByTestId('knowledge-shown');
    await expect.poll(() => shown.textContent()).toBe('1-100 of 230');
    const next = panel.getByRole('button', { name: 'Next' });
    const previous = panel.getByRole('button', { name: 'Previous' });
    expect(await previous.isDisabled()).toBe(true);
    await next.click();
    await expect.poll(() => shown.textContent()).toBe('101-200 of 230');
    expect(await panel.locator('tbody tr').first().getByRole('button').textContent()).toBe('pagingword100');
    await next.click();
    await expect.poll(() => shown.textContent()).toBe('201-230 of 230');
    expect(await next.isDisabled()).toBe(true);
    await previous.click();
    await expect.poll(() => shown.textContent()).toBe('101-200 of 230');

    // The entry stacks below the list on a phone: a pick brings it into view.
    await panel.locator('tbody tr').nth(60).getByRole('button').click();
    const entry = phone.getByTestId('knowledge-entry');
    await expect.poll(() => entry.getByRole('heading').textContent()).toContain('pagingword160');
    // All of it on screen (it is short, and the page's last: it cannot scroll up to the top).
    const box = await entry.evaluate((element) => ({ top: element.getBoundingClientRect().top, bottom: element.getBoundingClientRect().bottom }));
    expect(box.top).toBeGreaterThanOrEqual(0);
    expect(box.bottom).toBeLessThanOrEqual(viewports.phone.height);

    // A new search starts at its first page.
    await phone.getByLabel('Search').fill('pagingword2');
    await expect.poll(() => shown.textContent()).toBe('1-30 of 30');
  } finally {
    await phone.close();
  }
}, 60_000);
