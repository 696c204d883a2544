-- LLM gateway: one row per provider call (usage accounting) and the content-addressed response cache.

-- Every provider request the gateway makes, successful or not, plus one row per cache hit.
-- task_id has no foreign key on purpose: gateway calls also happen outside tasks (CLI, API), and
-- usage history must survive task clean-up.
CREATE TABLE llm_calls (
  id bigserial PRIMARY KEY,
  task_id uuid,
  step text,
  purpose text NOT NULL CHECK (purpose IN ('generation', 'judging', 'research', 'embedding')),
  provider text NOT NULL,
  model text NOT NULL,
  input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  latency_ms integer NOT NULL DEFAULT 0,
  cache_hit boolean NOT NULL DEFAULT false,
  -- 1 for the first request to this model within one gateway call; retries and repairs count up.
  attempt integer NOT NULL DEFAULT 1,
  -- NULL when the model has no entry in the price table.
  cost_usd numeric(14, 8),
  -- NULL on success; otherwise the error code and a one-line cause.
  error_code text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX llm_calls_task ON llm_calls (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX llm_calls_created ON llm_calls (created_at);

-- Validated structured outputs keyed by sha256(model, JSON schema, instructions, prompt).
CREATE TABLE llm_cache (
  key text PRIMARY KEY,
  model text NOT NULL,
  response jsonb NOT NULL,
  input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  hits integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_hit_at timestamptz
);

CREATE INDEX llm_cache_created ON llm_cache (created_at);
