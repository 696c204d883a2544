-- Worker heartbeats: one row per running worker, refreshed every half heartbeat period whether
-- or not it runs anything. /readyz and the CLI read it to tell "no worker anywhere" apart from
-- "workers are idle"; pg-boss's own job heartbeats only exist while a task runs.
CREATE TABLE workers (
  id text PRIMARY KEY,
  hostname text NOT NULL,
  pid integer NOT NULL,
  queues text[] NOT NULL,
  concurrency integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  -- Set by the worker from its own heartbeat period, so readers need not share its settings.
  expires_at timestamptz NOT NULL
);

CREATE INDEX workers_expires_at ON workers (expires_at);
