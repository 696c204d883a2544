/**
 * Shared set-up of the smart metadata tests: a config from overrides only (the machine's
 * environment and any real key in it are ignored), the real LLM gateway (no provider: the offline
 * analyser answers; or injected mock providers), and the API harness with the pipeline's task
 * types and routes on a fresh database.
 */
import type { ProviderV4 } from '@ai-sdk/provider';
import { expect } from 'vitest';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import type { Engine } from '../../src/engine/index.ts';
import { createLlmGateway, type LlmGateway } from '../../src/llm/index.ts';
import { metadataRoutes, smartMetadataTaskTypes, type SmartMetadataOptions } from '../../src/pipelines/smart-metadata/index.ts';
import type { TestDatabase } from '../support/database.ts';
import { eventually, testLogger, waitForStatus } from '../support/engine.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';
import { neuralNetworksBody } from './fixtures/projects.ts';

export function metadataConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({ llmMaxRetries: 0, llmRequestsPerMinute: 100_000, llmConcurrency: 16, ...overrides }, {});
}

export function metadataGateway(database: Pick<TestDatabase, 'pool'>, config: Config, providers?: Record<string, ProviderV4>): LlmGateway {
  return createLlmGateway({ config, pool: database.pool, logger: testLogger, privateLimiters: true, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...(providers ? { providers } : {}) });
}

export interface MetadataApi extends ApiHarness {
  llm: LlmGateway;
}

type Submit = Engine['submit'];

/**
 * The API with the pipeline's routes and task types (and a worker unless `worker: false`);
 * `tasks` overrides the task types' options (a tiny hard timeout, say); `submit` stands between
 * the routes and the engine's submits, `submit` and `submitWithin` alike (to hold or fail them).
 */
export async function startMetadataApi(options: { config?: ConfigOverrides; providers?: Record<string, ProviderV4>; worker?: boolean; tasks?: SmartMetadataOptions; submit?: (request: Parameters<Submit>[0], submit: Submit) => ReturnType<Submit> } = {}): Promise<MetadataApi> {
  const config = metadataConfig(options.config);
  let llm: LlmGateway | undefined;
  // The routes need the harness's engine, which exists only once the harness has started it.
  const engine: { current?: Engine } = {};
  const harness = await startApiHarness({
    config: options.config ?? {},
    worker: options.worker ?? true,
    taskTypesFor: (database) => {
      llm = metadataGateway(database, config, options.providers);
      return smartMetadataTaskTypes({ config, pool: database.pool, logger: testLogger, llm }, { schedules: false, retryBaseDelayMs: 20, ...options.tasks });
    },
    routePluginsFor: (database) => [metadataRoutes({
      config, pool: database.pool, logger: testLogger,
      engine: {
        submit: (request) => {
          const submit: Submit = (submitted) => engine.current!.submit(submitted);
          return options.submit ? options.submit(request, submit) : submit(request);
        },
        submitWithin: (transaction, request) => {
          const submit: Submit = (submitted) => engine.current!.submitWithin(transaction, submitted);
          return options.submit ? options.submit(request, submit) : submit(request);
        },
        getTask: (taskId, getOptions) => engine.current!.getTask(taskId, getOptions),
      },
    })],
  });
  engine.current = harness.engine;
  return { ...harness, llm: llm! };
}

/** Seconds-old projects are not back-filled: make some look created `hours` ago. */
export async function backdate(database: Pick<TestDatabase, 'pool'>, projectIds: string[], hours: number): Promise<void> {
  await database.pool.query(`UPDATE projects SET created_at = now() - $2 * interval '1 hour' WHERE id = ANY($1::uuid[])`, [projectIds, hours]);
}

/**
 * A transaction of the test's own that holds the lock `statement` takes until `release` (which a
 * `finally` may call again): a task is held at the exact statement that needs a conflicting lock,
 * with no sleep. `pid` is its backend, for `blockedBy`.
 */
export async function holdLock(database: Pick<TestDatabase, 'pool'>, statement: string, values: unknown[]): Promise<{ pid: number; release: () => Promise<void> }> {
  const client = await database.pool.connect();
  await client.query('BEGIN');
  await client.query(statement, values);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let released = false;
  return {
    pid,
    release: async () => {
      if (released) return;
      released = true;
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

/** Until some statement waits for a lock that backend `pid` (a `holdLock`) holds. */
export async function blockedBy(database: Pick<TestDatabase, 'pool'>, pid: number): Promise<void> {
  await eventually(async () => (await database.pool.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rowCount);
}

/** A project of tenant alpha with metadata generated from its current content (the routes' own generation). */
export async function projectWithMetadata(api: MetadataApi): Promise<string> {
  const created = await api.request('POST', '/api/projects', { body: neuralNetworksBody });
  expect(created.status).toBe(201);
  const projectId = created.body.id as string;
  const started = await api.request('POST', `/api/projects/${projectId}/generate_metadata/`);
  expect(started.status).toBe(202);
  expect((await waitForStatus(api.engine, started.body.task_id, ['completed', 'failed'])).result).toMatchObject({ status: 'generated' });
  return projectId;
}
