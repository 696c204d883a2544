-- `task_events` stops referencing `tasks` by a foreign key. Its check ran once per event inserted,
-- as a query of its own, on the hot path of every submit, claim and settle: about a tenth of the
-- delivery statement's CPU in a drain of no-op tasks (decision 0008, docs/benchmarks.md). Every
-- writer of events writes or reads the task row in the same statement or transaction, as the
-- writers of `task_queue` and `task_leases` do, which never had one.
ALTER TABLE task_events DROP CONSTRAINT task_events_task_id_fkey;

-- Deleting tasks still deletes their events, as ON DELETE CASCADE did: one statement per
-- statement that deletes tasks, not one per row.
CREATE FUNCTION taskloom_delete_task_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM task_events e USING deleted WHERE e.task_id = deleted.id;
  RETURN NULL;
END $$;
CREATE TRIGGER tasks_delete_events AFTER DELETE ON tasks REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION taskloom_delete_task_events();
