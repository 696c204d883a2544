/**
 * An engine on a test database, with the logger silenced unless TASKLOOM_TEST_LOG is set.
 */
import { Engine, type AnyTaskDefinition } from '../../src/engine/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { TestDatabase } from './database.ts';

export const testLogger = createLogger(process.env.TASKLOOM_TEST_LOG ?? 'silent');

export async function startTestEngine(database: Pick<TestDatabase, 'url' | 'pool'>, taskTypes: AnyTaskDefinition[], options: { maintenance?: boolean; heartbeatSeconds?: number; superviseIntervalSeconds?: number; cronIntervalSeconds?: number; schedules?: boolean } = {}): Promise<Engine> {
  return Engine.start({
    url: database.url,
    pool: database.pool,
    logger: testLogger,
    taskTypes,
    maintenance: options.maintenance ?? false,
    schedules: options.schedules ?? false,
    heartbeatSeconds: options.heartbeatSeconds ?? 10,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 1,
    cronIntervalSeconds: options.cronIntervalSeconds,
  });
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the task reaches one of `statuses`. */
export async function waitForStatus(engine: Engine, taskId: string, statuses: string[], timeoutMs = 20_000): Promise<Awaited<ReturnType<Engine['getTask']>>> {
  return eventually(async () => {
    const task = await engine.getTask(taskId);
    return statuses.includes(task.status) ? task : undefined;
  }, timeoutMs);
}
