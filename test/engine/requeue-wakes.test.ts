/**
 * A task put back on its queue to run at once (handed back at shutdown, a parent whose children
 * ended before it parked, a snooze of 0 ms) wakes the queue's workers when that commits, rather
 * than waiting for their polling backstop. Both workers here poll once a minute, so only the
 * NOTIFY can bring the task to the second one in time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eagerSlotFree, eventually, startTestEngine, waitForTask } from '../support/engine.ts';
import { Gates } from '../support/gates.ts';

const gates = new Gates();
const runs = new Map<string, number>();

/** Goes back to its queue on its first run (stopped at shutdown while at its gate, or snoozed for 0 ms); returns on the next. */
const twice = defineTask({
  type: 'wake_twice',
  description: 'goes back to its queue once, then returns',
  queue: 'default',
  input: z.object({ first: z.enum(['gate', 'snooze']) }),
  async run(context) {
    const run = (runs.get(context.taskId) ?? 0) + 1;
    runs.set(context.taskId, run);
    if (run === 1 && context.input.first === 'gate') await gates.wait(context.taskId, context.signal);
    if (run === 1 && context.input.first === 'snooze') await context.snooze(0);
    return { run };
  },
});

let database: TestDatabase;
const engines: Engine[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  for (let index = 0; index < 2; index += 1) engines.push(await startTestEngine(database, [twice], { eagerStart: false }));
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.stop({ graceMs: 100 })));
  await database?.drop();
});

it('wakes another worker at once for a task handed back at shutdown', async () => {
  const [first, second] = engines as [Engine, Engine];
  const stopping = await first.startWorker({ concurrency: 1, pollIntervalMs: 60_000 });
  const { task } = await first.submit({ taskType: twice.type, input: { first: 'gate' } });
  await eventually(async () => gates.isReached(task.id));
  // Idle, and its claim found the queue empty: it waits for a NOTIFY (or a minute).
  const other = await second.startWorker({ concurrency: 1, pollIntervalMs: 60_000 });
  await eagerSlotFree(other);

  await stopping.stop({ graceMs: 50 });
  const done = await waitForTask(second, task.id, ['completed'], 10_000);
  expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { run: 2 }, worker_id: other.id });
});

it('wakes the workers at once for a task snoozed for 0 ms', async () => {
  const { task } = await engines[0]!.submit({ taskType: twice.type, input: { first: 'snooze' } });
  const done = await waitForTask(engines[0]!, task.id, ['completed'], 10_000);
  expect(done).toMatchObject({ status: 'completed', result: { run: 2 } });
});
