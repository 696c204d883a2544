/**
 * Waiting tasks in a real browser (Debian's chromium via playwright-core) against the real API
 * and dashboard on their own database, with the wait fixture types registered
 * (`startServerWithTaskTypes`): a task waiting for an approval shows what it waits for, the form
 * generated from the waitpoint's schema puts the API's 400 next to its field, completing it
 * resumes the task to the end, a stale form answers "already decided by"; a fan-out task shows
 * its children as a tree and a child links back to its parent. The last test takes the
 * `task-waiting` and `task-children` screenshots (see support/screenshots.ts for where they go).
 * Beside them, a task whose result is a list of 5,000 records (the page shows the first 100).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/engine/index.ts';
import { createSideEffectTables } from '../fixtures/task-types.ts';
import { waitTaskTypes } from '../fixtures/wait-task-types.ts';
import { launchBrowser, signInDirectly, type TestBrowser } from './support/browser.ts';
import { screenshotFolder, takeScreenshots, type ScreenshotFolder } from './support/screenshots.ts';
import { startServerWithTaskTypes, type BrowserTestServer } from './support/server.ts';

let server: BrowserTestServer;
let browser: TestBrowser;
let screenshots: ScreenshotFolder | undefined;

async function signedInPage(): Promise<Page> {
  const page = await browser.newPage();
  await signInDirectly(page, server.url, server.apiKey);
  return page;
}

async function submit(taskType: string, taskData: Record<string, unknown>): Promise<string> {
  const answer = await server.api<{ task_id: string }>('/api/v1/tasks/submit', { method: 'POST', body: { task_type: taskType, task_data: taskData, project_id: 'browser-waits' } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  return answer.body.task_id;
}

async function taskStatus(taskId: string): Promise<string> {
  return (await server.api<{ status: string }>(`/api/v1/tasks/${taskId}`)).body.status;
}

function headerStatus(page: Page): Promise<string | null> {
  return page.locator('.header-actions [data-status]').getAttribute('data-status');
}

/** A result of 5,000 records with a nested object each (no table): 2.8 MB of JSON. */
const bigResultTask = defineTask({
  type: 'test_big_result',
  description: 'returns 5,000 records',
  queue: 'default',
  input: z.object({}),
  async run() {
    return { records: Array.from({ length: 5000 }, (_unused, index) => ({ index, name: `record ${index}`, detail: { note: 'x'.repeat(400), tags: ['a', 'b'] } })) };
  },
});

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerWithTaskTypes([...waitTaskTypes, bigResultTask], (database) => createSideEffectTables(database.pool)), launchBrowser()]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await screenshots?.cleanUp();
  expect(browser?.problems ?? []).toEqual([]);
}, 30_000);

describe('waiting tasks in the dashboard', () => {
  it('shows an approval wait, puts the API\'s 400 next to its field, and completes the task from the generated form', async () => {
    const taskId = await submit('test_approval', {});
    await expect.poll(() => taskStatus(taskId), { timeout: 20_000 }).toBe('waiting');
    const page = await signedInPage();

    // Overview and task list know the status: the count matches the API's stats.
    await page.goto(server.url + '/');
    const stats = await server.api<{ by_status: Record<string, number> }>('/api/v1/tasks/stats');
    expect(stats.body.by_status.waiting).toBe(1);
    await page.locator('[data-testid="status-counts"] [data-status="waiting"]').getByText('waiting').waitFor();
    // The per-type table counts the parked task in a column of its own: its columns add up.
    const typeRow = page.locator('section[aria-labelledby="table-Task types"] tr', { has: page.getByRole('link', { name: 'test_approval' }) });
    await typeRow.waitFor();
    const cells = (await typeRow.locator('td').allTextContents()).map(Number);
    // Queued, Running, Parked, Completed, Failed, Cancelled, Total.
    expect(cells[2]).toBe(1);
    expect(cells.slice(0, 6).reduce((sum, value) => sum + value, 0)).toBe(cells[6]);
    await page.getByRole('link', { name: '1 waiting tasks' }).click();
    await page.locator(`tr[data-task-id="${taskId}"][data-status="waiting"]`).waitFor();
    expect(await page.locator('#filter-status').inputValue()).toBe('waiting');

    await page.goto(`${server.url}/tasks/${taskId}`);
    const panel = page.getByTestId('waiting-panel');
    await panel.getByRole('heading', { name: 'Waiting for' }).waitFor();
    expect(await headerStatus(page)).toBe('waiting');
    const waitpoint = panel.locator('[data-kind="input"]');
    expect(await waitpoint.textContent()).toContain('approval');

    // The form is the waitpoint's schema: a required checkbox and an optional note of at most 200 characters.
    const form = panel.getByTestId('waitpoint-form');
    const approved = form.getByLabel(/^Approved/);
    const note = form.locator('[name="note"]');
    expect(await approved.getAttribute('type')).toBe('checkbox');
    expect(await form.locator('[data-field="note"] .help').textContent()).toContain('up to 200 characters');
    await approved.check();
    await note.fill('x'.repeat(201));
    await form.getByRole('button', { name: 'Complete approval' }).click();
    const noteError = form.locator('[data-field="note"] .field-error');
    await noteError.waitFor();
    expect(await noteError.textContent()).toMatch(/200/);
    expect(await note.getAttribute('aria-invalid')).toBe('true');
    expect(await form.locator('[data-field="approved"] .field-error').count()).toBe(0);
    expect(await taskStatus(taskId)).toBe('waiting');

    await note.fill('ship it');
    await form.getByRole('button', { name: 'Complete approval' }).click();
    await expect.poll(() => headerStatus(page), { timeout: 20_000 }).toBe('completed');
    // The resolved wait stays as history, with who decided and what.
    const history = page.locator('[data-testid="waitpoint-history"] [data-status="completed"]');
    await expect.poll(async () => (await history.count()) > 0 ? history.textContent() : '', { timeout: 10_000 }).toContain('by api_key:');
    expect(await history.textContent()).toContain('ship it');
    expect(await page.getByRole('heading', { name: 'Waiting for' }).count()).toBe(0);

    const finished = await server.api<{ result: { status: string; payload: unknown; completedBy: string } }>(`/api/v1/tasks/${taskId}`);
    expect(finished.body.result).toMatchObject({ status: 'completed', payload: { approved: true, note: 'ship it' } });
    expect(finished.body.result.completedBy).toMatch(/^api_key:/);
    await page.close();
  });

  it('answers a form that missed the decision with "already decided by"', async () => {
    const taskId = await submit('test_approval', {});
    await expect.poll(() => taskStatus(taskId), { timeout: 20_000 }).toBe('waiting');
    const page = await signedInPage();
    // No events reach this page (as with a connection that dropped), so its form goes stale.
    await page.route('**/api/v1/tasks/*/events**', (route) => route.abort());
    await page.goto(`${server.url}/tasks/${taskId}`);
    const form = page.getByTestId('waitpoint-form');
    await form.waitFor();

    const listed = await server.api<{ waitpoints: Array<{ id: string }> }>(`/api/v1/waitpoints?task_id=${taskId}&status=pending`);
    const decided = await server.api(`/api/v1/waitpoints/${listed.body.waitpoints[0]!.id}/complete`, { method: 'POST', body: { payload: { approved: false, note: 'no' } } });
    expect(decided.status).toBe(200);

    await form.getByLabel(/^Approved/).check();
    await form.getByRole('button', { name: 'Complete approval' }).click();
    const notice = page.getByTestId('waitpoint-notice');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/^Already decided by api_key:/);
    // The page re-reads the waitpoint: the first decision is what it shows.
    await page.locator('[data-testid="waitpoint-history"] [data-status="completed"]').waitFor();
    expect(await page.getByTestId('waitpoint-form').count()).toBe(0);
    await page.close();
  });

  it('shows a fan-out task\'s children as a tree, settling live, and a child\'s parent', async () => {
    const taskId = await submit('test_fan_out', { count: 3, childMs: 5000 });
    const page = await signedInPage();
    await page.goto(`${server.url}/tasks/${taskId}`);
    const tree = page.getByTestId('child-tasks');
    await expect.poll(() => tree.locator('.tree-node').count(), { timeout: 20_000 }).toBe(3);
    const children = await server.api<{ children: Array<{ id: string; parent_task_id: string }> }>(`/api/v1/tasks/${taskId}/children`);
    expect(children.body.children.map((child) => child.parent_task_id)).toEqual([taskId, taskId, taskId]);
    expect(await tree.locator('.tree-node').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-task-id')))).toEqual(children.body.children.map((child) => child.id));

    // While the children run, the parent waits for them and says how many have settled.
    // (Children of 5 s each: the line is gone once the parent moves on, so it must be read while
    // they run, however slowly the page came up.)
    const settled = page.getByTestId('children-settled');
    await settled.waitFor({ timeout: 10_000 });
    expect(await settled.textContent({ timeout: 2_000 })).toMatch(/^[0-3] of 3 child tasks settled$/);

    // Then everything settles without a reload.
    await expect.poll(() => headerStatus(page), { timeout: 20_000 }).toBe('completed');
    await expect.poll(() => tree.locator('.tree-node[data-status="completed"]').count(), { timeout: 10_000 }).toBe(3);
    expect(await tree.textContent()).toContain('3 of 3 settled');

    // A child's own children load when opened (a test_child has none).
    await tree.getByRole('button', { name: /^Show child tasks of test_child/ }).first().click();
    await tree.getByTestId('no-children').waitFor();

    // A child's page links back to its parent.
    await tree.locator('.tree-node').first().getByRole('link').click();
    await page.waitForURL(`${server.url}/tasks/${children.body.children[0]!.id}`);
    await page.getByTestId('parent-link').click();
    await page.waitForURL(`${server.url}/tasks/${taskId}`);
    await page.close();
  });

  it('shows the first hundred records of a long result, and all of them on request', async () => {
    const taskId = await submit('test_big_result', {});
    await expect.poll(() => taskStatus(taskId), { timeout: 20_000 }).toBe('completed');
    const page = await signedInPage();
    await page.goto(`${server.url}/tasks/${taskId}`);
    // Before: 130,000 elements, and the page blank for 5-11 s.
    const list = page.getByTestId('long-list').first();
    await list.waitFor();
    expect(await list.textContent()).toContain('100 of 5,000 shown');
    expect(await list.locator('.card-list-item').count()).toBe(100);
    await list.getByRole('button', { name: 'Show all 5,000' }).click();
    await expect.poll(() => list.evaluate((element) => element.querySelector('.card-list')?.children.length ?? 0), { timeout: 30_000 }).toBe(5000);
    expect(await list.textContent()).not.toContain('100 of 5,000 shown');
    await page.close();
  }, 60_000);

  it('renders a waiting task and a parent with its children on a phone and a wide screen (screenshots)', async () => {
    screenshots = await screenshotFolder();
    const approval = await submit('test_approval', {});
    // Children that run long enough to be pictured mid-way; cancelled afterwards.
    const parent = await submit('test_fan_out', { count: 4, childMs: 60_000 });
    await expect.poll(() => taskStatus(approval), { timeout: 20_000 }).toBe('waiting');
    await expect.poll(() => taskStatus(parent), { timeout: 20_000 }).toBe('waiting');
    const page = await signedInPage();
    await takeScreenshots(page, server.url, screenshots.path, [
      { name: 'task-waiting', path: `/tasks/${approval}`, ready: ['[data-testid="waitpoint-form"]', '[data-event-type="task_waiting"]'] },
      { name: 'task-children', path: `/tasks/${parent}`, ready: ['[data-testid="children-settled"]', '[data-testid="child-tasks"] .tree-node[data-status="running"]'] },
    ]);
    expect((await server.api(`/api/v1/tasks/${parent}/cancel`, { method: 'POST' })).body.status).toBe('cancelled');
    await page.close();
  }, 90_000);
});
