/**
 * A worker's polling backstop (worker.ts `#pollDrained`): a queue whose last claim came back short
 * is skipped until a NOTIFY says work became ready there, or until the poll finds a due task in it
 * (a retry whose backoff ended is announced to nobody). The poll asks that of all such queues in
 * one statement and claims only the ones that answer, so an idle worker serving many queues does
 * not send each a claim at every poll.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { builtinQueueNames } from '../../src/engine/queues.ts';
import { flakyTask } from '../fixtures/task-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, testLogger, waitForStatus } from '../support/engine.ts';
import { countStatements } from '../support/statements.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

it('asks once per poll which empty queues hold due work, and claims a due retry at the next poll', async () => {
  const engine = await Engine.start({ url: database.url, pool: database.pool, logger: testLogger, taskTypes: [flakyTask], maintenance: false, schedules: false, eagerStart: false });
  try {
    const worker = await engine.startWorker({ concurrency: 2, pollIntervalMs: 100 });
    expect(worker.queueNames.length).toBeGreaterThanOrEqual(builtinQueueNames.length);
    // Its first round claims every queue once and finds them all empty.
    await eventually(async () => (await countStatements(() => new Promise((resolve) => setTimeout(resolve, 250)))).get('taskloom_deliver') === undefined);

    const idle = await countStatements(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    // About ten polls in that second: one question each, and no claim, where a claim per queue
    // made sixty.
    expect(idle.get('taskloom_due_queues')).toBeGreaterThanOrEqual(5);
    expect(idle.get('taskloom_deliver') ?? 0).toBe(0);

    // A retry's backoff ends with no NOTIFY: the poll finds it due, and only then is it claimed.
    const { task } = await engine.submit({ taskType: flakyTask.type, input: { failures: 1 } });
    const finished = await waitForStatus(engine, task.id, ['completed']);
    expect(finished.attempts).toBe(2);
    expect(finished.result).toEqual({ succeededOnAttempt: 2 });
  } finally {
    await engine.stop();
  }
});
