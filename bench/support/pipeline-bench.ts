/**
 * What the pipeline benchmarks share: a throwaway database, the fixed-latency model server in its
 * own process, a config that sends every model call there (no cache, no rate limit in the way),
 * an engine with the pipeline's task types and one worker; all torn down afterwards.
 */
import os from 'node:os';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import { Engine, type AnyTaskDefinition } from '../../src/engine/index.ts';
import type { PipelineServices } from '../../src/kit/index.ts';
import { createLlmGateway } from '../../src/llm/index.ts';
import { openConnections } from '../../src/db/pool.ts';
import { createLogger } from '../../src/logger.ts';
import { openBenchDatabase } from './bench-database.ts';
import { startModelServerProcess } from './model-server.ts';

/**
 * A pool sized for a PostgreSQL server on this machine, as TASKLOOM_DB_POOL_SIZE's description
 * advises: twice its cores. The benchmarks' server always runs here (DATABASE_URL's or an embedded one). More
 * connections than that make a burst slower, not faster: bench:content on two cores measured
 * 0.097-0.123 with 2, 0.102-0.141 with 4, 0.126-0.147 with 8, 0.141-0.144 with 10 (the
 * service's default) and 0.179-0.185 with 20 (docs/benchmarks.md).
 */
export const serverSizedPool = 2 * os.availableParallelism();

export interface PipelineBench {
  engine: Engine;
  services: PipelineServices;
  config: Config;
}

export interface PipelineBenchOptions {
  /** Names the throwaway database. */
  name: string;
  /** Latency of every model answer. */
  latencyMs: number;
  /** Settings beside the model server's base URL (model ids, pipeline knobs). */
  config: ConfigOverrides;
  taskTypes: (services: PipelineServices) => AnyTaskDefinition[];
  /** The worker's slots. */
  concurrency: number;
  /** @default serverSizedPool */
  poolSize?: number;
}

export async function withPipelineBench<Result>(options: PipelineBenchOptions, run: (bench: PipelineBench) => Promise<Result>): Promise<Result> {
  const database = await openBenchDatabase({ name: options.name, poolSize: options.poolSize ?? serverSizedPool });
  const models = await startModelServerProcess(options.latencyMs);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  let engine: Engine | undefined;
  try {
    const config = loadConfig({ openaiCompatibleBaseUrl: models.baseUrl, llmCache: 'off', llmRequestsPerMinute: 1_000_000, llmConcurrency: 64, ...options.config }, {});
    const services: PipelineServices = { config, pool: database.pool, logger, llm: createLlmGateway({ config, pool: database.pool, logger }) };
    engine = await Engine.start({ url: database.url, pool: database.pool, logger, taskTypes: options.taskTypes(services), maintenance: false, schedules: false });
    await engine.startWorker({ concurrency: options.concurrency, pollIntervalMs: 100, childWaitHoldMs: config.childWaitHoldMs });
    // As `taskloom serve` and `taskloom worker` do when their worker starts: the run measured
    // starts on a worker that is up, not on the process's module loading and first connections.
    await Promise.all([services.llm.warmUp(), openConnections(database.pool)]);
    return await run({ engine, services, config });
  } finally {
    await engine?.stop({ graceMs: 1000 });
    await models.close();
    await database.drop();
  }
}
