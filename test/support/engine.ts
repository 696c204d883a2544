/**
 * An engine on a test database, with the logger silenced unless TASKLOOM_TEST_LOG is set.
 */
import type { Engine } from '../../src/engine/index.ts';
export { startTestEngine, testLogger, waitForTask, advanceTime } from '../../src/kit/testing.ts';

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
