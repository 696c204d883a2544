-- Delivery moves from pg-boss onto two narrow tables of the engine's own (decision 0008).
-- `tasks` stays the record; these hold only what a claim needs, and rows are inserted and
-- deleted, never updated, so their indexes hold live work and the entries of recent claims.

-- One row per task that is ready to run, or due at `run_at` (a retry's backoff, a snooze).
-- A claim deletes it; a requeue inserts a new one.
CREATE TABLE task_queue (
  task_id uuid PRIMARY KEY,
  queue text NOT NULL,
  priority integer NOT NULL,
  run_at timestamptz NOT NULL DEFAULT now(),
  -- `tenant:type:key` of a keyed task type: at most one task per key runs at a time.
  concurrency_key text
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_insert_scale_factor = 0);
-- The claim's order: highest priority first, then oldest due.
CREATE INDEX task_queue_ready ON task_queue (queue, priority DESC, run_at, task_id);

-- One row per running attempt: the worker holding it and its lease. Deleted when the attempt
-- settles. Its worker extends `expires_at` at every heartbeat while it runs or is recording the
-- attempt; a lease that expired (its worker died, or lost the answer to the claim that took it)
-- goes back to `task_queue` at the next worker's sweep. The unique key is what makes "one task
-- per key at a time" hold across every worker without a lock per queue.
CREATE TABLE task_leases (
  task_id uuid PRIMARY KEY,
  lease uuid NOT NULL,
  worker_id text NOT NULL,
  concurrency_key text UNIQUE,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_insert_scale_factor = 0);

-- No foreign keys to `tasks`: each would lock the task row once more per claim and submit on the
-- hot path. Every writer of these tables changes the task row in the same statement or
-- transaction, and a claim skips (and removes) a row whose task is not runnable.

-- Work queued before this migration was delivered by pg-boss jobs, which nothing reads any more:
-- queue it here. Tasks that were running are queued too: their attempt resumes from its last
-- checkpoint on the next worker (stop the old workers before upgrading; an old worker still
-- running one loses its lease at the first write and stops).
INSERT INTO task_queue (task_id, queue, priority, run_at, concurrency_key)
SELECT id, queue, priority, coalesce(next_attempt_at, now()),
  CASE WHEN concurrency_key IS NULL THEN NULL ELSE tenant || ':' || task_type || ':' || concurrency_key END
FROM tasks WHERE status IN ('queued', 'retrying', 'running');
UPDATE tasks SET lease = NULL, worker_id = NULL WHERE status IN ('queued', 'retrying', 'running');
ALTER TABLE tasks DROP COLUMN job_id;
