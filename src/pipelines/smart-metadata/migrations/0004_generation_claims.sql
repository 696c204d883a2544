-- Which back-fill run is generating a project's metadata right now. The operator's all-tenants
-- back-fill and a tenant's own run can overlap (their concurrency keys are per tenant); a run
-- claims a project before its model call and releases the claim in the transaction that stores
-- the project's checkpoint, so the other run skips it instead of paying for the same call. No
-- transaction stays open across the call: the claim is a row, and `expires_at` lets the claim of
-- a run that died lapse (the same task resuming takes its own claim back at once).
CREATE TABLE project_meta_generation_claims (
  project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  task_id uuid NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at timestamptz NOT NULL
);

-- When each back-fill model request started, for TASKLOOM_METADATA_RPM across every run and
-- process: the limit protects the provider's quota, which overlapping runs share. Rows older than
-- the window are pruned by the next reservation, so the table holds about a minute of requests.
CREATE TABLE project_meta_request_starts (
  id bigserial PRIMARY KEY,
  tenant text NOT NULL,
  task_id uuid NOT NULL,
  started_at timestamptz NOT NULL
);
CREATE INDEX project_meta_request_starts_started_at ON project_meta_request_starts (started_at);
