/**
 * The Projects page in Debian's headless Chromium against a real `taskloom serve` (no provider
 * key: the offline analyser answers): tag badges (three, then "+N more"), summary and difficulty,
 * SHOW_AI_META hiding the tags, the regenerate button following its task, and the nightly runs
 * panel.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, signInDirectly, type TestBrowser } from '../browser/support/browser.ts';
import { startServer, type TestServer } from '../browser/support/server.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';

let server: TestServer;
let browser: TestBrowser;
let page: Page;
let projectId: string;

async function waitForTask(taskId: string): Promise<Record<string, any>> {
  for (let tries = 0; tries < 200; tries += 1) {
    const answer = await server.api(`/api/v1/tasks/${taskId}`);
    if (['completed', 'failed', 'cancelled'].includes(answer.body.status)) return answer.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`task ${taskId} did not finish`);
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  const created = await server.api('/api/projects', { method: 'POST', body: neuralNetworksBody });
  expect(created.status).toBe(201);
  projectId = created.body.id;
  const started = await server.api(`/api/projects/${projectId}/generate_metadata/`, { method: 'POST' });
  expect(started.status).toBe(202);
  expect((await waitForTask(started.body.task_id)).status).toBe('completed');
  page = await browser.newPage();
  await signInDirectly(page, server.url, server.apiKey);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

it('shows three tag badges and "+N more", the summary and the difficulty', async () => {
  const project = (await server.api(`/api/projects/${projectId}`)).body;
  expect(project.ai_generated_tags.length).toBeGreaterThan(3);
  await page.goto(`${server.url}/projects`);
  const card = page.locator(`[data-project-id="${projectId}"]`);
  await card.waitFor();
  const badges = card.locator('[data-testid="tag-badges"] .tag-info');
  expect(await badges.allTextContents()).toEqual(project.ai_generated_tags.slice(0, 3));
  expect(await card.locator('[data-testid="more-tags"]').textContent()).toBe(`+${project.ai_generated_tags.length - 3} more`);
  expect(await card.locator('[data-testid="summary"]').textContent()).toBe(project.content_summary);
  expect(await card.textContent()).toContain(`Difficulty: ${project.difficulty_level}`);
  expect(browser.problems).toEqual([]);
});

it('hides the tags when SHOW_AI_META is switched off for the tenant', async () => {
  await page.locator('[data-testid="show-ai-meta"]').uncheck();
  const card = page.locator(`[data-project-id="${projectId}"]`);
  await card.locator('[data-testid="tag-badges"]').waitFor({ state: 'detached' });
  expect((await server.api('/api/smart-metadata/settings')).body.show_ai_meta).toBe(false);
  // The summary stays; only the tags are behind the setting.
  expect(await card.locator('[data-testid="summary"]').count()).toBe(1);
  await page.locator('[data-testid="show-ai-meta"]').check();
  await card.locator('[data-testid="tag-badges"]').waitFor();
});

it('regenerates with the button and follows the task to completion', async () => {
  const before = (await server.api(`/api/projects/${projectId}`)).body.ai_generated_at;
  const card = page.locator(`[data-project-id="${projectId}"]`);
  await card.locator('[data-testid="regenerate"]').click();
  await card.locator('[data-status="completed"]').waitFor({ timeout: 20_000 });
  const after = (await server.api(`/api/projects/${projectId}`)).body.ai_generated_at;
  expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
});

it('lists nightly back-fill runs', async () => {
  const submitted = await server.api('/api/v1/tasks/submit', { method: 'POST', body: { task_type: 'generate_missing_metadata', task_data: {} } });
  expect(submitted.status).toBe(202);
  await waitForTask(submitted.body.task_id);
  await page.reload();
  const panel = page.locator('[data-testid="nightly-runs"]');
  await panel.locator(`a[href="/tasks/${submitted.body.task_id}"]`).waitFor({ timeout: 15_000 });
  expect(await panel.textContent()).toContain('completed');
  expect(browser.problems).toEqual([]);
  // The documented picture is rewritten only on request (as in test/browser/dashboard.test.ts).
  if (process.env.TASKLOOM_UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots/projects-desktop.png'), fullPage: true });
  }
});

it('shows the newest hundred projects and loads older ones on request', async () => {
  for (let index = 0; index < 100; index += 1) {
    expect((await server.api('/api/projects', { method: 'POST', body: { ...neuralNetworksBody, name: `Course ${index}` } })).status).toBe(201);
  }
  await page.reload();
  const cards = page.locator('[data-testid="project-list"] [data-project-id]');
  await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(100);
  // The first project is the oldest of 101: not on the first page, reachable after one click.
  expect(await page.locator(`[data-project-id="${projectId}"]`).count()).toBe(0);
  await page.locator('[data-testid="load-more-projects"]').click();
  await page.locator(`[data-project-id="${projectId}"]`).waitFor();
  expect(await cards.count()).toBe(101);
  expect(await page.locator('[data-testid="load-more-projects"]').count()).toBe(0);
  // A newer project arrives while older ones are shown: the list refreshes as a whole. Before, the
  // first page refreshed alone and "Course 0", pushed off it, was in neither list.
  const course0 = await page.locator('[data-project-id]', { hasText: 'Course 0' }).first().getAttribute('data-project-id');
  expect((await server.api('/api/projects', { method: 'POST', body: { ...neuralNetworksBody, name: 'Course 100' } })).status).toBe(201);
  await expect.poll(() => cards.count(), { timeout: 20_000 }).toBe(102);
  expect(await page.locator(`[data-project-id="${course0}"]`).count()).toBe(1);
  expect(await page.locator(`[data-project-id="${projectId}"]`).count()).toBe(1);
  expect(browser.problems).toEqual([]);
}, 60_000);
