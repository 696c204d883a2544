/**
 * The dashboard in a real browser (Debian's chromium, headless, via playwright-core) against a
 * real `taskloom serve` on its own database: sign-in, a validation error from the API next to
 * its field, a `sleep` task started from the generated form up to 100 %, cancelling a running
 * task, the event log surviving a reload, the automated gather view filling in live on the
 * offline model, and a task's LLM calls and today's tokens read from `llm_calls`. The last test
 * takes screenshots of every page: into a temporary folder, removed afterwards, so a test run
 * leaves the working tree as it was; into docs/screenshots/ (the README's pictures) only with
 * TASKLOOM_UPDATE_SCREENSHOTS=1.
 *
 * Tests run in order and share one server and one browser (starting them is most of the cost).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, signInDirectly, viewports, type TestBrowser } from './support/browser.ts';
import { screenshotFolder, takeScreenshots, type ScreenshotFolder, type Shot } from './support/screenshots.ts';
import { startServer, type TestServer } from './support/server.ts';

let server: TestServer;
let browser: TestBrowser;
const pages: Page[] = [];

let screenshots: ScreenshotFolder | undefined;

async function signedInPage(): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  await signInDirectly(page, server.url, server.apiKey);
  return page;
}

async function submit(taskType: string, taskData: Record<string, unknown>, projectId?: string): Promise<string> {
  const answer = await server.api<{ task_id: string }>('/api/v1/tasks/submit', { method: 'POST', body: { task_type: taskType, task_data: taskData, ...(projectId ? { project_id: projectId } : {}) } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  return answer.body.task_id;
}

async function storedEventIds(taskId: string): Promise<number[]> {
  const answer = await server.api<{ events: Array<{ id: number }> }>(`/api/v1/tasks/${taskId}/events`);
  return answer.body.events.map((event) => event.id);
}

async function renderedEventIds(page: Page): Promise<number[]> {
  return page.locator('[data-testid="event-log"] [data-event-id]').evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute('data-event-id'))));
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await screenshots?.cleanUp();
  expect(browser?.problems ?? []).toEqual([]);
}, 30_000);

describe('dashboard', () => {
  it('signs in with an API key and refuses a wrong one', async () => {
    const page = await browser.newPage();
    pages.push(page);
    await page.goto(server.url + '/');
    const keyInput = page.getByLabel('API key');
    await keyInput.fill('not-a-valid-key-0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#api-key-error').textContent()).toContain('not valid');
    expect(await keyInput.getAttribute('aria-invalid')).toBe('true');

    await keyInput.fill(server.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await expect.poll(() => page.locator('.tenant').textContent()).toContain('default');
    expect(await page.evaluate(() => sessionStorage.getItem('taskloom.apiKey'))).toBe(server.apiKey);
    // Every status is labelled in text, not only by colour.
    for (const status of ['queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled']) {
      await page.locator(`[data-testid="status-counts"] [data-status="${status}"]`).getByText(status).waitFor();
    }

    // The key survives a reload of the tab (sessionStorage), and signing out forgets it.
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('taskloom.apiKey'))).toBeNull();
    await page.close();
  });

  it('shows the API\'s validation message next to the field it names', async () => {
    const page = await signedInPage();
    await page.goto(server.url + '/start?type=sleep');
    const steps = page.getByLabel(/^Steps/);
    await steps.fill('0');
    await page.getByRole('button', { name: 'Start sleep' }).click();
    const error = page.locator('[data-field="steps"] .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/>=\s*1|at least 1|too small/i);
    expect(await steps.getAttribute('aria-invalid')).toBe('true');
    // The message is announced with the field.
    expect(await steps.getAttribute('aria-describedby')).toContain('field-steps-error');
    expect(new URL(page.url()).pathname).toBe('/start');
    // The other fields carry no error.
    expect(await page.locator('[data-field="ms"] .field-error').count()).toBe(0);

    // A number the browser cannot read is sent as typed and refused by the API, next to its field;
    // before, it was left out and the task started on the default.
    await steps.fill('1');
    await page.getByLabel(/^Ms/).fill('5e');
    await page.getByRole('button', { name: 'Start sleep' }).click();
    await page.locator('[data-field="ms"] .field-error').waitFor();
    expect(new URL(page.url()).pathname).toBe('/start');

    // Fixing it clears the message and starts the task.
    await steps.fill('1');
    await page.getByLabel(/^Ms/).fill('0');
    await page.getByRole('button', { name: 'Start sleep' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    await page.close();
  });

  it('starts a task type whose input takes one of several shapes from one JSON field', async () => {
    const page = await signedInPage();
    await page.goto(server.url + '/start?type=generate_topics');
    // Before: "This task type takes no input.", and Start sent {} for good.
    const input = page.getByLabel(/^Input \(JSON\)/);
    await input.waitFor();
    expect(await page.getByTestId('task-form').textContent()).not.toContain('takes no input');
    expect(await page.getByTestId('input-schema').textContent()).toContain('persona_id');
    await input.fill('{"persona_id": "not a uuid", "month": 5}');
    await page.getByRole('button', { name: 'Start generate_topics' }).click();
    const error = page.locator('[data-field="task_data"] .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/company_id|persona_id/);
    expect(new URL(page.url()).pathname).toBe('/start');
    // An option's refusal stays on the option, not on the input.
    await page.getByText(/^Options:/).click();
    await page.getByLabel(/^Callback URL/).fill('ftp://example.com/hook');
    await input.fill('{"company_id": "00000000-0000-4000-8000-000000000000", "persona_id": "00000000-0000-4000-8000-000000000001", "month": 5}');
    await page.getByRole('button', { name: 'Start generate_topics' }).click();
    await page.locator('[data-field="callback_url"] .field-error').waitFor();
    expect(await page.locator('[data-field="task_data"] .field-error').count()).toBe(0);
    await page.close();
  });

  it('on a phone, brings the form of a task type picked from the list into view', async () => {
    const page = await signedInPage();
    await page.setViewportSize(viewports.phone);
    await page.goto(server.url + '/start');
    const form = page.getByTestId('task-form');
    await form.waitFor();
    const formTop = (): Promise<number> => form.evaluate((element) => element.getBoundingClientRect().top);
    // Landing is no pick: the list stays in view, and the form stacks below it, off screen.
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    expect(await formTop()).toBeGreaterThan(viewports.phone.height);
    const picker = page.getByRole('navigation', { name: 'Task types' });
    await picker.getByRole('link', { name: /^sleep\b/ }).click();
    await page.waitForURL(/\/start\?type=sleep$/);
    await page.getByRole('button', { name: 'Start sleep' }).waitFor();
    await expect.poll(formTop).toBeGreaterThanOrEqual(0);
    expect(await formTop()).toBeLessThan(viewports.phone.height / 2);
    await page.close();
  });

  it('starts a sleep task from the form and follows its progress bar to 100 %', async () => {
    const page = await signedInPage();
    await page.goto(server.url + '/start');
    // The first type is preselected; pick sleep explicitly.
    await page.getByRole('link', { name: /sleep/ }).click();
    await page.getByLabel(/^Ms/).fill('2400');
    await page.getByLabel(/^Steps/).fill('6');
    await page.getByLabel(/^Project id/).fill('browser-sleep');
    await page.getByRole('button', { name: 'Start sleep' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    const taskId = new URL(page.url()).pathname.split('/').pop()!;

    const progress = page.getByRole('progressbar', { name: 'Task progress' });
    const seen = new Set<number>();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const value = Number(await progress.getAttribute('aria-valuenow'));
      seen.add(value);
      if (value === 100) break;
      await page.waitForTimeout(50);
    }
    expect(seen.has(100)).toBe(true);
    // It moved live through intermediate values, not just from 0 to 100 on a reload.
    expect([...seen].some((value) => value > 0 && value < 100)).toBe(true);
    await page.locator('.task-header [data-status="completed"]').getByText('completed').waitFor();
    expect(await page.getByTestId('progress-value').textContent()).toBe('100 %');
    await page.locator('[data-event-type="task_completed"]').waitFor();
    const task = await server.api(`/api/v1/tasks/${taskId}`);
    expect(task.body).toMatchObject({ status: 'completed', progress: 100, project_id: 'browser-sleep', task_data: { ms: 2400, steps: 6, project_id: 'browser-sleep' } });
    // The result is shown as a readable view.
    await page.locator('#result-title').waitFor();
    await page.getByText('slept ms').waitFor();
    await page.close();
  });

  it('cancels a running task', async () => {
    const taskId = await submit('sleep', { ms: 60_000, steps: 60 });
    const page = await signedInPage();
    await page.goto(`${server.url}/tasks/${taskId}`);
    await page.locator('.task-header [data-status="running"]').waitFor({ timeout: 15_000 });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('.task-header [data-status="cancelled"]').getByText('cancelled').waitFor({ timeout: 15_000 });
    await page.locator('[data-event-type="task_cancelled"]').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
    const task = await server.api(`/api/v1/tasks/${taskId}`);
    expect(task.body.status).toBe('cancelled');
    await page.close();
  });

  it('keeps the event log across a reload and resumes after the last event id', async () => {
    const taskId = await submit('sleep', { ms: 3000, steps: 12 });
    const page = await signedInPage();
    const streamUrls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes(`/api/v1/tasks/${taskId}/events`)) streamUrls.push(request.url());
    });
    await page.goto(`${server.url}/tasks/${taskId}`);
    await expect.poll(async () => (await renderedEventIds(page)).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    const beforeReload = await renderedEventIds(page);
    await page.reload();
    // The events seen before the reload are back at once (kept in sessionStorage)...
    await page.locator('[data-testid="event-log"]').waitFor();
    const afterReload = await renderedEventIds(page);
    expect(afterReload.slice(0, beforeReload.length)).toEqual(beforeReload);
    // ...and the stream resumed after the last one instead of replaying the log.
    await expect.poll(() => streamUrls.length).toBeGreaterThanOrEqual(2);
    const resumed = new URL(streamUrls[streamUrls.length - 1]!);
    expect(Number(resumed.searchParams.get('after'))).toBeGreaterThanOrEqual(beforeReload[beforeReload.length - 1]!);

    await page.locator('[data-event-type="task_completed"]').waitFor({ timeout: 20_000 });
    const rendered = await renderedEventIds(page);
    // Every stored event exactly once, in order: nothing lost across the reload, nothing twice.
    expect(rendered).toEqual(await storedEventIds(taskId));
    expect(new Set(rendered).size).toBe(rendered.length);
    await page.close();
  });

  it('stops asking about a task that is not there', async () => {
    const page = await signedInPage();
    const asked: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/tasks/00000000-0000-4000-8000-00000000dead')) asked.push(new URL(request.url()).pathname);
    });
    await page.goto(`${server.url}/tasks/00000000-0000-4000-8000-00000000dead`);
    await page.getByText('not found', { exact: false }).first().waitFor();
    // Each request once (the task, its events' stream and their page, its children); before, the
    // stream reconnected with backoff and the children were asked for every few seconds, for ever.
    // Nothing is waited for but time: three seconds held a handful of retries.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(asked.filter((path) => path.endsWith('/events')).length).toBeLessThanOrEqual(2);
    expect(asked.filter((path) => path.endsWith('/children')).length).toBeLessThanOrEqual(1);
    await page.close();
  });

  it('fills in the automated gather view live on the offline model', async () => {
    const types = await server.api<{ task_types: Array<{ type: string }> }>('/api/v1/task-types');
    const registered = types.body.task_types.map((type) => type.type);
    expect(registered, 'automated_gather_creation must be registered by `taskloom serve` (src/pipelines/index.ts builtinTaskTypes) for the gather view').toContain('automated_gather_creation');

    const projectId = 'browser-film';
    // Two departments keep the run short; the view reads them from the departments API.
    const departments = await server.api(`/api/v1/projects/${projectId}/departments`, {
      method: 'PUT',
      body: {
        departments: [
          { slug: 'story', name: 'Story', description: 'Plot, structure, themes and the emotional arc of the film.', codeDepNumber: 1, gatherCheck: true, isActive: true, defaultModel: null, coordinationSettings: { minQualityThreshold: 70, maxRetries: 3 } },
          { slug: 'character', name: 'Character', description: 'Characters, their motivations, relationships and arcs.', codeDepNumber: 2, gatherCheck: true, isActive: true, defaultModel: null, coordinationSettings: { minQualityThreshold: 75, maxRetries: 3 } },
        ],
      },
    });
    expect(departments.status, JSON.stringify(departments.body)).toBe(200);

    const page = await signedInPage();
    await page.goto(`${server.url}/projects/${projectId}/gather`);
    const cards = page.locator('[data-testid="departments"] > li');
    await expect.poll(() => cards.count()).toBe(2);
    expect(await cards.nth(0).getAttribute('data-department')).toBe('story');
    expect(await cards.nth(1).getAttribute('data-department')).toBe('character');
    await page.locator('[data-stream-state="live"]').waitFor();

    // Record what the page shows as it changes, to prove it filled in without a reload.
    await page.evaluate(() => {
      const trace: string[] = [];
      (window as unknown as { gatherTrace: string[] }).gatherTrace = trace;
      const snapshot = (): void => {
        const run = document.querySelector('[data-testid="gather-run"]')?.getAttribute('data-run-status') ?? 'none';
        const statuses = Array.from(document.querySelectorAll('[data-testid="departments"] > li')).map((node) => node.getAttribute('data-status')).join(',');
        const entry = `${run}|${statuses}`;
        if (trace[trace.length - 1] !== entry) trace.push(entry);
      };
      snapshot();
      new MutationObserver(snapshot).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-run-status', 'data-status'] });
    });

    await page.getByLabel('Max iterations').fill('12');
    await page.getByRole('button', { name: 'Start automated gather' }).click();
    await page.locator('[data-testid="gather-run"][data-run-status="completed"]').waitFor({ timeout: 60_000 });

    const trace = await page.evaluate(() => (window as unknown as { gatherTrace: string[] }).gatherTrace);
    expect(trace[0]).toBe('none|pending,pending');
    expect(trace.some((entry) => entry.startsWith('running|'))).toBe(true);
    // Story finished while Character had not: the departments filled in one after the other.
    expect(trace.some((entry) => entry.startsWith('running|complete,') && !entry.endsWith(',complete'))).toBe(true);
    expect(trace[trace.length - 1]).toBe('completed|complete,complete');

    // Quality per iteration: one point per iteration_complete, each department's threshold drawn.
    const result = (await server.api(`/api/v1/tasks?task_type=automated_gather_creation&project_id=${projectId}`)).body.tasks[0];
    await expect.poll(async () => (await server.api(`/api/v1/tasks/${result.id}`)).body.status).toBe('completed');
    const gather = (await server.api(`/api/v1/tasks/${result.id}`)).body.result;
    expect(await page.locator('.chart-data tbody tr').count()).toBe(gather.iterations);
    expect(await page.locator('.threshold-line').count()).toBe(2);
    for (const [index, summary] of (gather.summary as Array<{ department: string; items_created: number; quality_score: number }>).entries()) {
      const card = cards.nth(index);
      await expect.poll(() => card.getByTestId('department-items').textContent()).toBe(String(summary.items_created));
      expect(await card.getByTestId('department-quality').textContent()).toBe(String(summary.quality_score));
    }
    // Items are listed with content, summary, duplicate score and iteration.
    await cards.nth(0).locator('summary', { hasText: /items?$/ }).click();
    await cards.nth(0).locator('.item').first().getByText(/duplicate score/).waitFor();
    await cards.nth(0).locator('.item').first().getByText(/iteration \d+/).waitFor();
    // Evaluations (evaluate_department tasks submitted per department) arrive live as well.
    await expect.poll(() => page.locator('[data-testid="evaluations"] tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await cards.nth(1).getByTestId('evaluation').getByText(/rating \d+/).waitFor();
    await page.close();
  });

  it('shows a running task\'s LLM calls as they are recorded, without a reload', async () => {
    const taskId = await submit('sleep', { ms: 30_000, steps: 30 });
    const page = await signedInPage();
    const callReads: number[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith(`/api/v1/tasks/${taskId}/llm-calls`)) callReads.push(Date.now());
    });
    await page.goto(`${server.url}/tasks/${taskId}`);
    await page.locator('.task-header [data-status="running"]').waitFor({ timeout: 15_000 });
    await page.getByTestId('llm-usage-empty').getByText('No LLM call yet.').waitFor();
    // Two calls land while the page is open, as the gateway records them: rows in llm_calls
    // (a sleep task makes no call of its own, so the rows are written here).
    await server.database.pool.query(
      `INSERT INTO llm_calls (task_id, step, purpose, provider, model, input_tokens, output_tokens, latency_ms, attempt, cost_usd, error_code, error)
       VALUES ($1, 'outline', 'generation', 'offline', 'default', 1200, 340, 85, 1, 0, NULL, NULL),
              ($1, 'outline', 'generation', 'offline', 'default', 0, 0, 12, 2, 0, 'llm_call_failed', 'the model answered 500')`,
      [taskId],
    );
    const rows = page.locator('[data-testid="llm-calls"] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('.task-header [data-status]').getAttribute('data-status')).toBe('running');
    expect(await page.getByTestId('llm-usage-calls').textContent()).toBe('2 (1 failed)');
    expect(await page.getByTestId('llm-usage-input').textContent()).toBe('1,200');
    expect(await page.getByTestId('llm-usage-output').textContent()).toBe('340');
    expect(await rows.nth(0).textContent()).toContain('offline:default');
    expect(await rows.nth(1).textContent()).toContain('llm_call_failed');
    // Re-read on a timer while the task runs, not on every render.
    expect(callReads.length).toBeGreaterThanOrEqual(2);
    await server.api(`/api/v1/tasks/${taskId}/cancel`, { method: 'POST' });
    await page.locator('.task-header [data-status="cancelled"]').waitFor({ timeout: 15_000 });
    // The calls stay on the page of the cancelled task.
    expect(await rows.count()).toBe(2);
    await page.close();
    // The rows stood in for calls a sleep never makes: gone, so the screenshots show real usage only.
    await server.database.pool.query('DELETE FROM llm_calls WHERE task_id = $1', [taskId]);
  });

  it('shows a finished gather\'s LLM calls and, on the overview, every call of the tenant today', async () => {
    const tasks = (await server.api<{ tasks: Array<{ id: string; task_type: string }> }>('/api/v1/tasks?limit=200')).body.tasks;
    const gather = tasks.find((task) => task.task_type === 'automated_gather_creation');
    expect(gather, 'the gather test ran before this one').toBeDefined();
    const gatherCalls = (await server.api(`/api/v1/tasks/${gather!.id}/llm-calls`)).body;
    expect(gatherCalls.totals.calls).toBeGreaterThan(0);
    const number = (value: number): string => new Intl.NumberFormat('en-GB').format(value);

    const page = await signedInPage();
    await page.goto(`${server.url}/tasks/${gather!.id}`);
    await expect.poll(() => page.locator('[data-testid="llm-calls"] tbody tr').count()).toBe(gatherCalls.calls.length);
    expect(await page.getByTestId('llm-usage-input').textContent()).toBe(number(gatherCalls.totals.input_tokens));
    expect(await page.getByTestId('llm-usage-output').textContent()).toBe(number(gatherCalls.totals.output_tokens));

    // The overview counts every call of the tenant's tasks today (the evaluate_department tasks'
    // too, not only the gather's), read from llm_calls rather than from task results.
    let expectedTokens = 0;
    for (const task of tasks) {
      const { totals } = (await server.api(`/api/v1/tasks/${task.id}/llm-calls`)).body;
      expectedTokens += totals.input_tokens + totals.output_tokens;
    }
    expect(expectedTokens).toBeGreaterThan(gatherCalls.totals.input_tokens + gatherCalls.totals.output_tokens);
    await page.goto(server.url + '/');
    await expect.poll(() => page.getByTestId('tokens-today-value').textContent(), { timeout: 15_000 }).toBe(number(expectedTokens));
    await page.getByTestId('llm-models').getByText('offline:default').waitFor();
    await page.close();
  });

  it('renders the main pages on a phone and a wide screen (screenshots)', async () => {
    screenshots = await screenshotFolder();
    const gatherRegistered = (await server.api<{ task_types: Array<{ type: string }> }>('/api/v1/task-types')).body.task_types.some((type) => type.type === 'automated_gather_creation');
    let gatherTaskId: string | undefined;
    if (gatherRegistered) {
      // A failure for the overview: a gather with no department to walk fails at once.
      await server.api('/api/v1/projects/browser-empty/departments', { method: 'PUT', body: { departments: [{ slug: 'story', name: 'Story', codeDepNumber: 1, gatherCheck: false }] } });
      await submit('automated_gather_creation', { project_id: 'browser-empty' }, 'browser-empty');
      // A full run over the seven default (Aladdin) departments, for the gather view.
      gatherTaskId = await submit('automated_gather_creation', { project_id: 'aladdin', user_id: 'user-123' }, 'aladdin');
    }
    const running = await submit('sleep', { ms: 30_000, steps: 30 }, 'browser-sleep');
    const page = await signedInPage();
    await page.goto(`${server.url}/tasks/${running}`);
    await expect.poll(async () => Number(await page.getByRole('progressbar', { name: 'Task progress' }).getAttribute('aria-valuenow')), { timeout: 15_000 }).toBeGreaterThan(0);
    if (gatherTaskId) {
      await expect.poll(async () => (await server.api(`/api/v1/tasks/${gatherTaskId}`)).body.status, { timeout: 60_000 }).toBe('completed');
      await expect.poll(async () => (await server.api('/api/v1/projects/aladdin/evaluations')).body.evaluations.length, { timeout: 30_000 }).toBe(7);
    }
    // "task" is the page at its fullest: a finished gather with its LLM calls, result and events
    // (the running sleep stands in when the gather pipeline is not registered).
    const runningTask = { name: 'task-running', path: `/tasks/${running}`, ready: ['[data-event-type="task_progress"]'] };
    const shots: Shot[] = [
      { name: 'overview', path: '/', ready: ['[data-testid="status-counts"]', '[data-testid="llm-models"]'] },
      { name: 'tasks', path: '/tasks', ready: ['[data-testid="task-table"] tbody tr'] },
      ...(gatherTaskId ? [
        { name: 'task', path: `/tasks/${gatherTaskId}`, ready: ['[data-event-type="task_completed"]', '[data-testid="llm-calls"] tbody tr'] },
        runningTask,
      ] : [{ ...runningTask, name: 'task' }]),
      { name: 'start-form', path: '/start?type=sleep', ready: ['[data-testid="task-form"]'] },
      ...(gatherTaskId ? [
        { name: 'gather', path: '/projects/aladdin/gather', ready: ['[data-testid="gather-run"][data-run-status="completed"]'] },
      ] : []),
    ];
    await takeScreenshots(page, server.url, screenshots.path, shots, { serverOutput: () => server.child.output() });
    await server.api(`/api/v1/tasks/${running}/cancel`, { method: 'POST' });
    await page.close();
  }, 180_000);
});
