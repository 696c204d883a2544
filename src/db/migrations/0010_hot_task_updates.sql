-- A task's transitions (queued -> running -> completed) rewrite its `tasks` row. PostgreSQL can
-- do that in place on the same page, touching no index ("HOT"), only when no index mentions a
-- changed column, predicates included. Two indexes mentioned `status`, so every transition wrote
-- a new entry into every index of the table (decision 0008). They go:

-- Status listings and counts: the narrow tables answer for active work (task_queue for queued,
-- task_leases for running, pending waitpoints for waiting), and a listing by status walks
-- `tasks_tenant_created` and filters.
DROP INDEX tasks_tenant_status;

-- "One active task per exclusive key" moves to a table of its own: a row per active task that
-- has a key, inserted with the task (a second one is the unique violation submit reports as 409)
-- and deleted when the task ends, by the trigger below, whichever path ends it.
CREATE TABLE task_exclusive_keys (
  tenant text NOT NULL,
  task_type text NOT NULL,
  exclusive_key text NOT NULL,
  task_id uuid NOT NULL,
  PRIMARY KEY (tenant, task_type, exclusive_key)
);
INSERT INTO task_exclusive_keys (tenant, task_type, exclusive_key, task_id)
SELECT tenant, task_type, exclusive_key, id FROM tasks
WHERE exclusive_key IS NOT NULL AND status IN ('queued', 'running', 'retrying', 'waiting');
DROP INDEX tasks_exclusive_key;

CREATE FUNCTION taskloom_release_exclusive_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM task_exclusive_keys WHERE tenant = NEW.tenant AND task_type = NEW.task_type AND exclusive_key = NEW.exclusive_key AND task_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER tasks_release_exclusive_key AFTER UPDATE OF status ON tasks
  FOR EACH ROW WHEN (NEW.exclusive_key IS NOT NULL AND NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION taskloom_release_exclusive_key();

-- Room on each page for the next version of its rows, so the update stays on the page.
ALTER TABLE tasks SET (fillfactor = 80);
