/**
 * The content dashboard in Chromium (headless, playwright-core) against a real `taskloom serve` on
 * the offline model: the approvals inbox (approve; reject with a reason and regeneration, then
 * approve the rewrite), the offline stand-in notice, the topics calendar, the blog post preview
 * rendered from markdown with each platform's character and hashtag counts, and the run's tree.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, signInDirectly, type TestBrowser } from '../browser/support/browser.ts';
import { startServer, type TestServer } from '../browser/support/server.ts';

let server: TestServer;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  page = await browser.newPage();
  await signInDirectly(page, server.url, server.apiKey);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  expect(browser?.problems ?? []).toEqual([]);
}, 30_000);

async function until<T>(read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const jobs = (await server.api<{ tasks: Array<{ task_type: string; status: string; error: unknown; progress_message: string }> }>('/api/v1/tasks?limit=100')).body.tasks;
      throw new Error(`condition not met in time; tasks: ${JSON.stringify(jobs.map((task) => [task.task_type, task.status, task.progress_message, task.error]))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('approves, rejects with a reason and previews a month of content in the browser', async () => {
  const company = (await server.api<{ id: string }>('/api/v1/content/companies', { method: 'POST', body: { name: 'Harbor Coffee', website: 'https://harbor-coffee.example' } })).body;
  const run = (await server.api<{ job_id: string }>(`/api/v1/ai/companies/${company.id}/content-pipeline/`, {
    method: 'POST',
    body: { year: 2027, month: 3, posts_count: 2, auto_select_personas: true, min_words: 200, max_words: 500, platforms: ['twitter', 'linkedin'] },
  })).body;
  const pendingTopics = async () => until(async () => {
    const topics = (await server.api<{ topics: Array<{ id: string; version: number }> }>(`/api/v1/content/topics?company_id=${company.id}&status=pending_approval`)).body.topics;
    return topics.length === 2 ? topics : undefined;
  });
  await pendingTopics();

  // The run's task page says where its wait is decided, instead of a form that would only wake
  // the run to wait again, and does not give its hourly re-read as a deadline.
  await page.goto(`${server.url}/tasks/${run.job_id}`);
  const decisionWait = page.getByTestId('decision-wait');
  await decisionWait.waitFor({ timeout: 20_000 });
  expect(await decisionWait.textContent()).toContain('approves or rejects each topic in the approvals inbox');
  expect(await page.getByTestId('waitpoint-form').count()).toBe(0);
  expect(await page.getByTestId('waiting-panel').textContent()).not.toContain('times out at');
  await decisionWait.getByRole('link', { name: 'the approvals inbox' }).click();
  await page.waitForURL(/\/content\/approvals$/);

  // The inbox: one topic approved, the other rejected with a reason and regenerated.
  await page.goto(`${server.url}/content/approvals`);
  await page.getByTestId('offline-notice').waitFor();
  await expect.poll(() => page.getByTestId('approval').count(), { timeout: 20_000 }).toBe(2);
  // Each item names its company (with two companies, their topics read alike).
  expect(await page.getByTestId('approval-company').allTextContents()).toEqual(['Harbor Coffee', 'Harbor Coffee']);
  await page.getByTestId('approval').first().getByRole('button', { name: 'Approve', exact: true }).click();
  await expect.poll(() => page.getByTestId('approval').count(), { timeout: 20_000 }).toBe(1);
  const rejected = page.getByTestId('approval').first();
  await rejected.getByPlaceholder('Reason for rejecting (required)').fill('Write it for first-time home brewers');
  await rejected.getByRole('button', { name: 'Reject' }).click();
  // The run rewrites it and asks again: the inbox shows version 2.
  await expect.poll(() => page.getByTestId('approval').first().textContent(), { timeout: 30_000 }).toContain('v2');
  await page.getByTestId('approval').first().getByRole('button', { name: 'Approve', exact: true }).click();

  // The calendar on the company page shows both topics, approved, in their weeks.
  await page.goto(`${server.url}/content/companies/${company.id}`);
  await page.getByTestId('dna').waitFor();
  // Researched offline: the page says why the points are "Not found".
  expect(await page.getByTestId('dna-offline').textContent()).toContain('reads no web page');
  await page.getByRole('combobox', { name: 'Month' }).selectOption('3');
  await page.getByRole('spinbutton', { name: 'Year' }).fill('2027');
  await expect.poll(() => page.getByTestId('topic-calendar').textContent(), { timeout: 20_000 }).toMatch(/approved[\s\S]*approved/);

  // Posts: approved through the inbox's edit-before-approving on one, plainly on the other.
  const posts = await until(async () => {
    const listed = (await server.api<{ posts: Array<{ id: string; title: string }> }>(`/api/v1/content/posts?company_id=${company.id}&status=pending_approval`)).body.posts;
    return listed.length === 2 ? listed : undefined;
  }, 120_000);
  // Once both posts are decided the run writes their social posts, which join the inbox at once
  // (offline they take milliseconds), so the posts' approvals are counted by kind.
  const postApprovals = () => page.locator('[data-testid="approval"][data-kind="blog_post"]');
  await page.goto(`${server.url}/content/approvals`);
  await expect.poll(() => postApprovals().count(), { timeout: 20_000 }).toBe(2);
  await postApprovals().first().getByRole('button', { name: 'Approve', exact: true }).click();
  await expect.poll(() => postApprovals().count(), { timeout: 20_000 }).toBe(1);
  await postApprovals().first().getByRole('button', { name: 'Edit before approving' }).click();
  const editor = postApprovals().first().locator('textarea');
  await editor.fill(`${await editor.inputValue()}\n\nEdited by the supervisor before approving.`);
  await postApprovals().first().getByRole('button', { name: 'Approve with edit' }).click();
  await expect.poll(() => postApprovals().count(), { timeout: 20_000 }).toBe(0);

  await until(async () => ((await server.api<{ status: string }>(`/api/v1/ai/jobs/${run.job_id}/`)).body.status === 'completed' ? true : undefined));
  // Its social posts, 2 posts x 2 platforms, now wait in the inbox in turn.
  await page.goto(`${server.url}/content/approvals`);
  await expect.poll(() => page.locator('[data-testid="approval"][data-kind="social_post"]').count(), { timeout: 20_000 }).toBe(4);
  // A social post rejected with a reason is rewritten too (regenerate is offered for every kind):
  // it comes back to the inbox as version 2.
  const socialApprovals = () => page.locator('[data-testid="approval"][data-kind="social_post"]');
  await socialApprovals().first().getByPlaceholder('Reason for rejecting (required)').fill('Lead with the harbour, not the beans');
  expect(await socialApprovals().first().getByRole('checkbox', { name: 'regenerate' }).isChecked()).toBe(true);
  await socialApprovals().first().getByRole('button', { name: 'Reject' }).click();
  await expect.poll(async () => (await socialApprovals().allTextContents()).filter((text) => text.includes('v2')).length, { timeout: 30_000 }).toBe(1);

  // On a phone: the inbox and the company page fit the screen, and Reject is on it.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.reload();
  await socialApprovals().first().waitFor();
  expect(await overflow()).toBeLessThanOrEqual(0);
  const reject = await socialApprovals().first().getByRole('button', { name: 'Reject' }).boundingBox();
  expect(reject!.x + reject!.width).toBeLessThanOrEqual(390);
  await page.goto(`${server.url}/content/companies/${company.id}`);
  await page.getByTestId('dna').waitFor();
  expect(await overflow()).toBeLessThanOrEqual(0);
  // The run's start form, whose platforms' default is one long JSON list.
  await page.goto(`${server.url}/start?type=content_pipeline`);
  await page.getByTestId('task-form').waitFor();
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 900 });

  // The post preview: markdown rendered (title and section headings), social previews with counts.
  await page.goto(`${server.url}/content/posts/${posts[0]!.id}`);
  await page.getByTestId('post-preview').locator('h2').first().waitFor();
  expect(await page.getByTestId('post-preview').locator('h3').count()).toBeGreaterThanOrEqual(3);
  await expect.poll(() => page.getByTestId('social-preview').count(), { timeout: 20_000 }).toBe(2);
  const twitter = page.locator('[data-testid="social-preview"][data-platform="twitter"]');
  expect(await twitter.textContent()).toMatch(/\d+ \/ 280 characters/);
  expect(await twitter.textContent()).toMatch(/\d hashtags \(1-2\)/);
  await page.getByTestId('offline-notice').waitFor();
  // Each row the offline model wrote says so: the post, and each of its social posts.
  expect(await page.locator('header [data-testid="offline-row"]').count()).toBe(1);
  expect(await twitter.locator('[data-testid="offline-row"]').count()).toBe(1);

  // The run as a tree: the run (DNA, personas and topics are its own steps) and its children:
  // 2 posts, 2 x 2 platforms.
  await page.goto(`${server.url}/content/runs/${run.job_id}`);
  await expect.poll(() => page.getByTestId('run-tree').locator('li').count(), { timeout: 20_000 }).toBe(1 + 2 + 4);
  expect(await page.getByTestId('run-tree').textContent()).toContain('content_pipeline');
  expect(await page.getByTestId('run-tree').textContent()).toContain('generate_social');
}, 240_000);

it('confirms, from the company page, the personas a run waits for, as the page shows them', async () => {
  const company = (await server.api<{ id: string }>('/api/v1/content/companies', { method: 'POST', body: { name: 'Beta Coffee', website: 'https://beta-coffee.example' } })).body;
  const jobEnded = async (jobId: string): Promise<void> => {
    await until(async () => {
      const job = (await server.api<{ status: string }>(`/api/v1/ai/jobs/${jobId}/`)).body;
      return ['completed', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
    });
  };
  for (const path of ['scrape-dna', 'generate-personas']) await jobEnded((await server.api<{ job_id: string }>(`/api/v1/ai/companies/${company.id}/${path}/`, { method: 'POST', body: {} })).body.job_id);
  const personas = (await server.api<{ personas: Array<{ id: string }> }>(`/api/v1/content/companies/${company.id}/personas`)).body.personas;
  // An earlier selection: these three are active.
  expect((await server.api('/api/v1/content/personas/select', { method: 'POST', body: { company_id: company.id, persona_ids: personas.slice(0, 3).map((persona) => persona.id) } })).status).toBe(200);

  const run = (await server.api<{ job_id: string }>(`/api/v1/ai/companies/${company.id}/content-pipeline/`, {
    method: 'POST',
    body: { year: 2027, month: 5, posts_count: 2, min_words: 200, max_words: 500, platforms: ['twitter'] },
  })).body;
  // The run says what it waits for, as its other gates do.
  const waiting = await until(async () => {
    const job = (await server.api<{ task_status: string; progress_message: string }>(`/api/v1/ai/jobs/${run.job_id}/`)).body;
    return job.task_status === 'waiting' ? job : undefined;
  });
  expect(waiting.progress_message).toBe('waiting for a marketer to select 3 personas');

  // The run's page and the company's jobs say it, not only the progress bar's label.
  await page.goto(`${server.url}/content/runs/${run.job_id}`);
  await expect.poll(() => page.getByTestId('run-message').first().textContent(), { timeout: 20_000 }).toBe('waiting for a marketer to select 3 personas');
  // Its task page sends the marketer to the company's page to select them.
  await page.goto(`${server.url}/tasks/${run.job_id}`);
  const decisionWait = page.getByTestId('decision-wait');
  await decisionWait.waitFor({ timeout: 20_000 });
  expect(await decisionWait.textContent()).toContain('A marketer selects the personas on the company\'s page');
  expect(await decisionWait.getByRole('link', { name: 'the company\'s page' }).getAttribute('href')).toBe(`/content/companies/${company.id}`);
  expect(await page.getByTestId('waitpoint-form').count()).toBe(0);
  // Every task of the run tells itself apart by its short id (the end of its time-ordered id).
  await page.goto(`${server.url}/tasks`);
  await page.locator('[data-testid="task-table"] tbody tr').first().waitFor();
  const shortIds = await page.locator('[data-testid="task-table"] tbody tr td[data-label="Task"] code').allTextContents();
  expect(shortIds.length).toBeGreaterThan(2);
  expect(new Set(shortIds).size).toBe(shortIds.length);

  await page.goto(`${server.url}/content/companies/${company.id}`);
  await page.getByTestId('personas').waitFor();
  expect(await page.getByTestId('job-message').allTextContents()).toContain('waiting for a marketer to select 3 personas');
  await expect.poll(() => page.getByTestId('personas').locator('input[type=checkbox]:checked').count(), { timeout: 20_000 }).toBe(3);
  // Shown checked, so confirmable as shown: the button was disabled until a box was changed.
  const select = page.getByRole('button', { name: 'Select these personas' });
  expect(await select.isEnabled()).toBe(true);
  await select.click();
  await until(async () => {
    const topics = (await server.api<{ topics: unknown[] }>(`/api/v1/content/topics?company_id=${company.id}&year=2027&month=5`)).body.topics;
    return topics.length === 2 ? topics : undefined;
  });
  await server.api(`/api/v1/ai/jobs/${run.job_id}/cancel/`, { method: 'POST', body: {} });
}, 180_000);
