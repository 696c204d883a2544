import { expect, it } from 'vitest';
import { eventually, waitForStatus, useTestEngine } from '../support/engine.ts';
import { killChildren, spawnNode } from '../support/processes.ts';

const fixture = useTestEngine({ beforeStop: killChildren });

it('on SIGTERM hands running tasks back without spending an attempt, and another worker finishes them', async () => {
  const child = spawnNode('test/fixtures/worker-process.ts', [fixture.database.url, '4', '300']);
  await child.waitForLine('ready');
  // Two that stop when told (their signal aborts with `shutdown`), two that ignore the signal
  // and are handed back when the grace period ends.
  const polite = await Promise.all([1, 2].map(() => fixture.engine.submit({ taskType: 'test_steps', input: { steps: 40, stepMs: 100, honorSignal: true } })));
  const stubborn = await Promise.all([1, 2].map(() => fixture.engine.submit({ taskType: 'test_steps', input: { steps: 10, stepMs: 500 } })));
  const all = [...polite, ...stubborn].map(({ task }) => task.id);
  await eventually(async () => (await fixture.database.pool.query(`SELECT 1 FROM tasks WHERE id = ANY($1) AND status = 'running'`, [all])).rowCount === 4);
  await new Promise((resolve) => setTimeout(resolve, 400));
  child.process.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  const afterStop = await fixture.database.pool.query<{ status: string; attempts: number; lease: string | null }>('SELECT status, attempts, lease FROM tasks WHERE id = ANY($1)', [all]);
  expect(afterStop.rows.map((row) => row.status)).toEqual(['queued', 'queued', 'queued', 'queued']);
  expect(afterStop.rows.every((row) => row.attempts === 0 && row.lease === null)).toBe(true);

  await fixture.engine.startWorker({ concurrency: 4 });
  for (const id of all) {
    const done = await waitForStatus(fixture.engine, id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
  }
  // All resumed from their steps: no step's side effect happened twice.
  const duplicates = await fixture.database.pool.query('SELECT task_id, step FROM test_side_effects WHERE task_id = ANY($1) GROUP BY task_id, step HAVING count(*) > 1', [all]);
  expect(duplicates.rowCount).toBe(0);
}, 90_000);
