/**
 * A claim writes the leases of keyless tasks as plain rows and those of keyed tasks with
 * `ON CONFLICT DO NOTHING` (ready-queue.ts): one claim holding both kinds, while another
 * transaction is taking the keyed task's key, must lease the keyless ones and leave the keyed one
 * queued for a later claim.
 */
import { expect, it } from 'vitest';
import pg from 'pg';
import { readyChannel } from '../../src/engine/ready-queue.ts';
import { eventually, waitForStatus, useTestEngine } from '../support/engine.ts';

const fixture = useTestEngine();

it('leases keyless tasks beside a keyed one whose key another claim is taking, and leaves that one queued', async () => {
  const keyed = (await fixture.engine.submit({ taskType: 'test_keyed', input: { key: 'held', ms: 0 } })).task.id;
  const keyless: string[] = [];
  for (let index = 0; index < 3; index += 1) keyless.push((await fixture.engine.submit({ taskType: 'test_record_run', input: { n: index } })).task.id);
  const { rows: [queued] } = await fixture.database.pool.query<{ concurrency_key: string }>('SELECT concurrency_key FROM task_queue WHERE task_id = $1', [keyed]);
  expect(queued!.concurrency_key).toMatch(/:test_keyed:held$/);

  // Another worker's claim of a task with the same key, in flight: its lease is not committed,
  // so the worker's claim below finds the key free, picks the keyed task, and its keyed insert
  // waits for this transaction.
  const other = new pg.Client({ connectionString: fixture.database.url });
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query(
      `INSERT INTO task_leases (task_id, lease, worker_id, concurrency_key, expires_at)
       VALUES (gen_random_uuid(), gen_random_uuid(), 'another-worker', $1, now() + interval '5 minutes')`,
      [queued!.concurrency_key],
    );
    const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await fixture.engine.startWorker({ concurrency: 8, pollIntervalMs: 100 });
    // The waiting claim has written the keyless leases already: it has its transaction id.
    const waitingClaim = await eventually(async () => (await fixture.database.pool.query<{ xid: string }>(
      `SELECT backend_xid::text AS xid FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid)) AND backend_xid IS NOT NULL`,
      [otherPid],
    )).rows[0]?.xid);
    // The other claim commits: the key is taken, so this claim skips the keyed task.
    await other.query('COMMIT');

    for (const id of keyless) await waitForStatus(fixture.engine, id, ['completed']);
    // That same claim, not a later one after it failed, leased them.
    const startedBy = await fixture.database.pool.query<{ writer: string }>(`SELECT xmin::text AS writer FROM task_events WHERE task_id = ANY($1::uuid[]) AND type = 'task_started'`, [keyless]);
    expect(startedBy.rows.map((row) => row.writer)).toEqual(keyless.map(() => waitingClaim));
    const keyedNow = await fixture.database.pool.query<{ status: string; queued: boolean; leased: boolean }>(
      `SELECT status, EXISTS (SELECT 1 FROM task_queue WHERE task_id = $1) AS queued, EXISTS (SELECT 1 FROM task_leases WHERE task_id = $1) AS leased
       FROM tasks WHERE id = $1`,
      [keyed],
    );
    expect(keyedNow.rows[0]).toEqual({ status: 'queued', queued: true, leased: false });
    const started = await fixture.database.pool.query('SELECT 1 FROM task_events WHERE task_id = $1 AND type = $2', [keyed, 'task_started']);
    expect(started.rowCount).toBe(0);

    // The other task ends and releases its key, waking the queue as a release does.
    await other.query(`DELETE FROM task_leases WHERE worker_id = 'another-worker'`);
    await other.query('SELECT pg_notify($1, $2)', [readyChannel, 'default']);
    const done = await waitForStatus(fixture.engine, keyed, ['completed']);
    expect(done.attempts).toBe(1);
    const runs = await fixture.database.pool.query<{ task_id: string }>('SELECT task_id FROM test_runs WHERE key = $1', ['held']);
    expect(runs.rows).toEqual([{ task_id: keyed }]);
  } finally {
    await other.end();
  }
}, 30_000);
