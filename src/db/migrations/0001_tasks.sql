-- The user-facing task record, its durable event log and its checkpointed steps.
-- pg-boss keeps its own schema (`pgboss`) for delivery; these tables are the system of record.

CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  tenant text NOT NULL DEFAULT 'default',
  project_id text,
  task_type text NOT NULL,
  queue text NOT NULL,
  priority integer NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'retrying', 'completed', 'failed', 'cancelled')),
  progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  progress_message text,
  input jsonb NOT NULL,
  result jsonb,
  error jsonb,
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  idempotency_key text,
  -- Tasks sharing a concurrency key never run at the same time. `exclusive_key` is set instead
  -- when the task type rejects a second active task with the key (enforced by an index below).
  concurrency_key text,
  exclusive_key text,
  callback_url text,
  -- The pg-boss job currently delivering this task, and the worker running it.
  job_id uuid,
  worker_id text,
  -- A fresh token per claimed attempt. Every write an attempt makes checks it, so an attempt that
  -- lost the task (its heartbeat lapsed and another worker resumed it) can no longer write.
  lease uuid,
  cancel_requested_at timestamptz,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX tasks_exclusive_key ON tasks (tenant, task_type, exclusive_key)
  WHERE exclusive_key IS NOT NULL AND status IN ('queued', 'running', 'retrying');
CREATE INDEX tasks_tenant_created ON tasks (tenant, created_at DESC, id DESC);
CREATE INDEX tasks_tenant_status ON tasks (tenant, status);
CREATE INDEX tasks_project ON tasks (tenant, project_id, created_at DESC) WHERE project_id IS NOT NULL;

-- Every event is stored before it is delivered. Ids are handed out under a transaction-level
-- advisory lock taken just before the insert (see engine/event-log.ts), so ids become visible in
-- commit order and a reader that follows `id > last seen` never skips one.
CREATE TABLE task_events (
  id bigserial PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  project_id text,
  type text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_events_task ON task_events (task_id, id);
CREATE INDEX task_events_project ON task_events (tenant, project_id, id) WHERE project_id IS NOT NULL;

CREATE TABLE task_steps (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  key text NOT NULL,
  result jsonb,
  attempt integer NOT NULL,
  duration_ms integer NOT NULL,
  completed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, key)
);
