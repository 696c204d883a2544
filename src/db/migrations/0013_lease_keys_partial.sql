-- Most tasks have no concurrency key, and a UNIQUE constraint indexes NULLs too: every claim wrote
-- an entry for its lease into `task_leases_concurrency_key_key` that no lookup ever reads (a key
-- is looked up by value) and every finish left dead there. Only keyed leases are indexed now; the
-- uniqueness that makes one task per key run at a time is the same.
CREATE UNIQUE INDEX task_leases_concurrency_key ON task_leases (concurrency_key) WHERE concurrency_key IS NOT NULL;
ALTER TABLE task_leases DROP CONSTRAINT task_leases_concurrency_key_key;
