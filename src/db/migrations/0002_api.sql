-- The HTTP API's tenants and keys, and webhook delivery from the event log.

-- A tenant owns tasks (tasks.tenant holds its name) and signs its webhooks with its own secret.
CREATE TABLE tenants (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  webhook_secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored only as SHA-256 hashes: a key is 32 random bytes, so a fast hash is as
-- safe as a slow one and keeps authentication at one indexed lookup. `prefix` (the key's first
-- characters) identifies a key in listings without revealing it.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  tenant text NOT NULL REFERENCES tenants (name),
  name text,
  prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

-- Consumers of the event log that must see every event once across all processes (webhook
-- discovery, the Redis sink). Whoever holds the row lock (FOR UPDATE SKIP LOCKED) advances the
-- cursor; the others skip. They start at the events already stored, so upgrading an existing
-- database does not replay history.
CREATE TABLE event_consumers (
  name text PRIMARY KEY,
  last_event_id bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO event_consumers (name, last_event_id)
SELECT consumer.name, coalesce((SELECT max(id) FROM task_events), 0)
FROM (VALUES ('webhooks'), ('redis')) AS consumer (name);

-- The webhook outbox is the event log itself: one cursor row per task with a callback_url says
-- which of its events the receiver has acknowledged. A dispatcher leases a row, posts the next
-- events in id order and moves the cursor; a failure schedules the same event again later.
CREATE TABLE webhook_deliveries (
  task_id uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  url text NOT NULL,
  -- Events up to here are done (delivered, or dropped after their last attempt).
  delivered_event_id bigint NOT NULL DEFAULT 0,
  -- The newest event of the task known to exist; delivery is due while the cursor is behind.
  latest_event_id bigint NOT NULL,
  -- Failed attempts of the event after the cursor.
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  leased_by text,
  lease_expires_at timestamptz,
  delivered_count integer NOT NULL DEFAULT 0,
  dropped_count integer NOT NULL DEFAULT 0,
  -- `active`, or `refused` when the target address is not allowed (nothing more is sent).
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'refused')),
  last_status integer,
  last_error text,
  last_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE delivered_event_id < latest_event_id AND state = 'active';

-- One row per POST: what was sent, how the receiver answered, how long it took.
CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  event_id bigint NOT NULL,
  attempt integer NOT NULL,
  -- `delivered`, `failed` (will retry), `dropped` (last attempt failed) or `refused`.
  outcome text NOT NULL,
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_task ON webhook_attempts (task_id, id);
