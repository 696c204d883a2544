-- Migration 0002 created the Redis sink's cursor at the events stored then, whether or not a sink
-- would ever run. An install that set REDIS_URL months later had its sink publish every automated
-- gather event since, at once, on live channels. A sink now creates its cursor when it first
-- starts (after the newest event then); a cursor that no sink ever moved goes. Migrations run in
-- one transaction, so such a row's updated_at is still the time 0002 was applied; a sink moves
-- it at every pass that reads an event.
DELETE FROM event_consumers c USING taskloom_migrations m
WHERE c.name = 'redis' AND m.name = '0002_api' AND c.updated_at = m.applied_at;
