import { afterAll, beforeAll, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import { appendEvents, type Engine, type TaskEvent } from '../../src/engine/index.ts';
import { sleepTask } from '../../src/pipelines/builtin/sleep.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine } from '../support/engine.ts';

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [sleepTask]);
});

afterAll(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

it('replays then follows with no gap and no duplicate under concurrent writers', async () => {
  const tasks = await Promise.all([0, 1, 2, 3].map((index) => engine.submit({ taskType: 'sleep', input: { ms: 0 }, projectId: index % 2 === 0 ? 'even' : 'odd' })));
  const evenTasks = new Set(tasks.filter((_, index) => index % 2 === 0).map(({ task }) => task.id));
  const perWriter = 150;
  let writing = true;
  // Four writers appending concurrently, some transactions slow to commit (held open after taking
  // their ids) so commit order differs from the order transactions started in.
  const writers = tasks.map(async ({ task }, writer) => {
    for (let index = 0; index < perWriter; index += 1) {
      await withTransaction(database.pool, async (transaction) => {
        await appendEvents(transaction, [{ taskId: task.id, tenant: 'default', projectId: task.project_id, type: 'test_tick', payload: { writer, index } }]);
        if (index % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      });
    }
  });
  // Subscribe mid-stream, after some events exist, from an id in the middle.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const startAfter = Math.floor((await database.pool.query<{ id: number }>('SELECT max(id) AS id FROM task_events')).rows[0]!.id / 2);
  const controller = new AbortController();
  const received: TaskEvent[] = [];
  let expectedCount = Number.POSITIVE_INFINITY;
  const consumer = (async () => {
    for await (const event of engine.subscribe({ projectId: 'even', afterId: startAfter, signal: controller.signal })) {
      received.push(event);
      if (!writing && received.length >= expectedCount) break;
    }
  })();
  await Promise.all(writers);
  writing = false;
  const stored = (await engine.readEvents({ projectId: 'even', afterId: startAfter, limit: 10_000 }));
  expectedCount = stored.length;
  const deadline = Date.now() + 10_000;
  while (received.length < expectedCount && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort();
  await consumer;
  expect(received.map((event) => event.id)).toEqual(stored.map((event) => event.id));
  expect(received.every((event) => evenTasks.has(event.task_id))).toBe(true);
  expect(new Set(received.map((event) => event.id)).size).toBe(received.length);
  for (let index = 1; index < received.length; index += 1) expect(received[index]!.id).toBeGreaterThan(received[index - 1]!.id);
}, 60_000);
