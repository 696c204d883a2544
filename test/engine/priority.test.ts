import { expect, it } from 'vitest';
import { waitForStatus, useTestEngine } from '../support/engine.ts';

const fixture = useTestEngine();

it('runs higher priority first within a queue', async () => {
  // Submitted before any worker runs, lowest priority first.
  const low = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 1 }, priority: 1 });
  const middle = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 2 } });
  const high = await fixture.engine.submit({ taskType: 'test_record_run', input: { n: 3 }, priority: 9 });
  expect(middle.task.priority).toBe(5);
  await fixture.engine.startWorker({ concurrency: 1 });
  await Promise.all([low, middle, high].map(({ task }) => waitForStatus(fixture.engine, task.id, ['completed'])));
  const order = await fixture.database.pool.query<{ task_id: string }>('SELECT task_id FROM test_side_effects ORDER BY created_at');
  expect(order.rows.map((row) => row.task_id)).toEqual([high.task.id, middle.task.id, low.task.id]);
});
