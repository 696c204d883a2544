import { expect, it } from 'vitest';
import { configurationMarkdown, loadConfig, settings } from '../src/config.ts';
import { isTaskloomError } from '../src/errors.ts';

it('resolves defaults, reads env, and lets explicit arguments win', () => {
  const config = loadConfig({}, {});
  expect(config.port).toBe(8000);
  expect(config.workerConcurrency).toBe(8);
  expect(config.databaseUrl).toBeUndefined();
  expect(config.homePath.endsWith('.taskloom')).toBe(true);
  expect(loadConfig({}, { PORT: '9001', TASKLOOM_QUEUES: 'quick, ai_jobs' })).toMatchObject({ port: 9001, queueList: ['quick', 'ai_jobs'] });
  expect(loadConfig({ port: 7000 }, { PORT: '9001' }).port).toBe(7000);
});

it('fails fast on invalid values, naming every bad variable and how to fix it', () => {
  let thrown: unknown;
  try {
    loadConfig({}, { PORT: '99999', TASKLOOM_WORKER_CONCURRENCY: 'eight', DATABASE_URL: 'not a url' });
  } catch (error) {
    thrown = error;
  }
  expect(isTaskloomError(thrown) && thrown.code).toBe('config_invalid');
  const message = (thrown as Error).message;
  expect(message).toContain('PORT="99999" is invalid');
  expect(message).toContain('TASKLOOM_WORKER_CONCURRENCY="eight" is invalid');
  expect(message).toContain('DATABASE_URL="not a url" is invalid');
  expect(message).toContain(settings.port.help);
});

it('documents every setting', () => {
  const markdown = configurationMarkdown();
  for (const definition of Object.values(settings)) expect(markdown).toContain(`\`${definition.env}\``);
});

it('documents every setting in the README, exactly as `taskloom config` prints them', async () => {
  const { readFile } = await import('node:fs/promises');
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const table = /<!-- configuration-table:start -->\n([\s\S]*?)\n<!-- configuration-table:end -->/.exec(readme)?.[1];
  // Regenerate with: node bin/taskloom.js config, pasted between the two markers.
  expect(table).toBe(configurationMarkdown());
});

it('holds every learning budget to the one limit the learning jobs\' hard timeouts are derived from', async () => {
  const { bigLearningJobInput, maxBudgetSeconds } = await import('../src/pipelines/learning/schemas.ts');
  for (const env of ['TASKLOOM_LEARNING_BUDGET_SECONDS', 'TASKLOOM_LEARNING_QUICK_BUDGET_SECONDS', 'TASKLOOM_LEARNING_DEEP_BUDGET_SECONDS']) {
    let thrown: unknown;
    try {
      loadConfig({}, { [env]: String(maxBudgetSeconds + 1) });
    } catch (error) {
      thrown = error;
    }
    expect(isTaskloomError(thrown) && thrown.code).toBe('config_invalid');
    // The start-up error names the variable and the limit, and says why.
    expect((thrown as Error).message).toContain(`${env}="${maxBudgetSeconds + 1}" is invalid (at most ${maxBudgetSeconds} seconds: a learning job's hard timeout is derived from this limit)`);
    expect(() => loadConfig({}, { [env]: String(maxBudgetSeconds) })).not.toThrow();
  }
  // A job's own budget has the same limit as the setting.
  expect(bigLearningJobInput.safeParse({ budget_seconds: maxBudgetSeconds }).success).toBe(true);
  expect(bigLearningJobInput.safeParse({ budget_seconds: maxBudgetSeconds + 1 }).success).toBe(false);
  expect(loadConfig({}, {})).toMatchObject({ learningBudgetSeconds: 600, learningQuickBudgetSeconds: 120, learningDeepBudgetSeconds: 600 });
});

it('reads the seeds\' names for the Brain service and Payload CMS where taskloom\'s own are unset', () => {
  const seeds = loadConfig({}, { BRAIN_SERVICE_URL: 'http://brain.example:8002', NEXT_PUBLIC_APP_URL: 'https://app.example.com/' });
  expect(seeds.brainServiceBaseUrl).toBe('http://brain.example:8002');
  expect(seeds.payloadApiUrl).toBe('https://app.example.com/api');
  const own = loadConfig({}, { BRAIN_SERVICE_URL: 'http://brain.example:8002', BRAIN_SERVICE_BASE_URL: 'https://brain.example', NEXT_PUBLIC_APP_URL: 'https://app.example.com', PAYLOAD_API_URL: 'https://cms.example/api' });
  expect(own.brainServiceBaseUrl).toBe('https://brain.example');
  expect(own.payloadApiUrl).toBe('https://cms.example/api');
  expect(loadConfig({}, {}).payloadApiUrl).toBeUndefined();
  expect(() => loadConfig({}, { NEXT_PUBLIC_APP_URL: 'app.example.com' })).toThrow(/NEXT_PUBLIC_APP_URL="app.example.com" is invalid/);
});

it('refuses a judge band that is empty, naming both bounds', () => {
  const band = { TASKLOOM_GATHER_JUDGE: 'true', TASKLOOM_GATHER_DUPLICATE_THRESHOLD: '0.8', TASKLOOM_GATHER_JUDGE_LOWER_BOUND: '0.85' };
  expect(() => loadConfig({}, band)).toThrow(/TASKLOOM_GATHER_JUDGE_LOWER_BOUND=0.85 is not below TASKLOOM_GATHER_DUPLICATE_THRESHOLD=0.8/);
  expect(() => loadConfig({}, { ...band, TASKLOOM_GATHER_JUDGE_LOWER_BOUND: '0.8' })).toThrow(/would never be asked/);
  // With the judge off the bound is unused; below the threshold the band is what was asked for.
  expect(loadConfig({}, { ...band, TASKLOOM_GATHER_JUDGE: 'false' }).gatherJudgeLowerBound).toBe(0.85);
  expect(loadConfig({}, { ...band, TASKLOOM_GATHER_JUDGE_LOWER_BOUND: '0.7' }).gatherJudgeLowerBound).toBe(0.7);
});

it('refuses a gather hard timeout that does not exceed its soft timeout, naming both', () => {
  expect(() => loadConfig({}, { TASKLOOM_GATHER_SOFT_TIMEOUT_MS: '2000', TASKLOOM_GATHER_HARD_TIMEOUT_MS: '1000' })).toThrow(/TASKLOOM_GATHER_HARD_TIMEOUT_MS=1000 does not exceed TASKLOOM_GATHER_SOFT_TIMEOUT_MS=2000/);
  expect(loadConfig({}, { TASKLOOM_GATHER_SOFT_TIMEOUT_MS: '2000', TASKLOOM_GATHER_HARD_TIMEOUT_MS: '3000' }).gatherHardTimeoutMs).toBe(3000);
});
