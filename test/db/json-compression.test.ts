/**
 * Migration 0012: the engine's large JSON values are stored compressed with LZ4, which costs the
 * server a fraction of pglz's CPU for each kilobytes-long result, where the server was built with
 * LZ4; elsewhere (the embedded PostgreSQL's build has none) the migration keeps pglz. Either way
 * they read back unchanged.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, waitForTask } from '../support/engine.ts';

/** An article's worth of text: long enough to be stored compressed. */
const article = { title: 'A long "result"', body: 'Generated text, line after line.\n'.repeat(400) };

const writes = defineTask({
  type: 'compression_article',
  description: 'returns an article and checkpoints it',
  queue: 'default',
  input: z.object({ brief: z.string() }),
  async run(context) {
    return context.step('draft', async () => article);
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [writes]);
});

afterAll(async () => {
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

/** Whether this server was built with LZ4: it refuses the setting otherwise (22023). */
async function serverHasLz4(): Promise<boolean> {
  const client = await database.pool.connect();
  try {
    await client.query('SET default_toast_compression = lz4');
    await client.query('RESET default_toast_compression');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '22023') return false;
    throw error;
  } finally {
    client.release();
  }
}

it('stores a task\'s input, result, step and completed event compressed with LZ4 where the server has it, and reads them back whole', async () => {
  const method = (await serverHasLz4()) ? 'lz4' : 'pglz';
  await engine.startWorker({ concurrency: 1 });
  const brief = 'Write about compression. '.repeat(200);
  const { task } = await engine.submit({ taskType: writes.type, input: { brief } });
  const done = await waitForTask(engine, task.id, ['completed']);
  expect(done.input).toEqual({ brief });
  expect(done.result).toEqual(article);

  const stored = await database.pool.query(
    `SELECT pg_column_compression(t.input) AS input, pg_column_compression(t.result) AS result,
       (SELECT pg_column_compression(s.result) FROM task_steps s WHERE s.task_id = t.id) AS step,
       (SELECT pg_column_compression(e.payload) FROM task_events e WHERE e.task_id = t.id AND e.type = 'task_completed') AS event
     FROM tasks t WHERE t.id = $1`,
    [task.id],
  );
  expect(stored.rows).toEqual([{ input: method, result: method, step: method, event: method }]);
  const [completed] = (await engine.readEvents({ taskId: task.id })).filter((event) => event.type === 'task_completed');
  expect(completed!.payload.result).toEqual(article);
});
