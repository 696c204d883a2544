-- The engine's large JSON values (a task's input and result, its events' payloads, its steps'
-- results) are compressed with LZ4 instead of PostgreSQL's default pglz once they are big enough
-- to be stored compressed (about 2 kB). A content task's result is kilobytes of text, stored
-- twice (the task's `result` and its `task_completed` payload), and compressing both with pglz
-- was a large share of the server's CPU per task: drains of 5,000 tasks returning 8 kB, three
-- alternating pairs, 2,665 -> 3,239 tasks/s (means; docs/benchmarks.md, fifteenth session).
-- Values already stored keep their compression, and either kind reads back the same. A server
-- built without LZ4 keeps pglz: the change is skipped with a notice, not failed.
DO $$
BEGIN
  ALTER TABLE tasks ALTER COLUMN input SET COMPRESSION lz4, ALTER COLUMN result SET COMPRESSION lz4;
  ALTER TABLE task_events ALTER COLUMN payload SET COMPRESSION lz4;
  ALTER TABLE task_steps ALTER COLUMN result SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this PostgreSQL has no LZ4 support; large JSON values stay compressed with pglz';
END $$;
