-- Durable waits: a task may park (status `waiting`) on a waitpoint without holding a worker
-- slot, and tasks may have a parent that waits for them.

ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
  CHECK (status IN ('queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled'));

-- A waiting task is still active: a second task with its exclusive key must still be refused.
DROP INDEX tasks_exclusive_key;
CREATE UNIQUE INDEX tasks_exclusive_key ON tasks (tenant, task_type, exclusive_key)
  WHERE exclusive_key IS NOT NULL AND status IN ('queued', 'running', 'retrying', 'waiting');

ALTER TABLE tasks ADD COLUMN parent_task_id uuid REFERENCES tasks (id) ON DELETE SET NULL;
CREATE INDEX tasks_parent ON tasks (parent_task_id, created_at) WHERE parent_task_id IS NOT NULL;

CREATE TABLE waitpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  project_id text,
  -- Unique per task: the handler's name for the wait, replayed on later attempts like a step key.
  key text NOT NULL,
  -- `input`: completed by a person or a system through the API; `timer`: a durable sleep;
  -- `children`: resolved when every child task in `children` has settled.
  kind text NOT NULL CHECK (kind IN ('input', 'timer', 'children')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'timed_out', 'cancelled')),
  -- JSON Schema the completion payload must satisfy (from the handler's zod schema).
  schema jsonb,
  payload jsonb,
  children uuid[],
  completed_by text,
  completed_at timestamptz,
  timeout_at timestamptz,
  -- sha256 of a single-use completion token (for a link in an email); the token itself is never stored.
  token_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_id, key)
);

CREATE INDEX waitpoints_tenant_status ON waitpoints (tenant, status, created_at DESC);
CREATE UNIQUE INDEX waitpoints_token ON waitpoints (token_hash) WHERE token_hash IS NOT NULL;
-- The sweep that fires timeouts and timers reads only these.
CREATE INDEX waitpoints_due ON waitpoints (timeout_at) WHERE status = 'pending' AND timeout_at IS NOT NULL;
CREATE INDEX waitpoints_pending_children ON waitpoints (created_at) WHERE status = 'pending' AND kind = 'children';
