-- Learning pipeline (seed 004): a tenant's knowledge base, its queue of words waiting to be
-- learned, the raw tokens each round proposed, and one row per learning job with its counters.
--
-- Word identity: `normalised` is the word in NFKC, lower-cased, with inner whitespace collapsed
-- (normalise.ts computes it; it is the only place that does). Every table is keyed by
-- (tenant, normalised), so "Dog", "DOG" and "ｄｏｇ" are one word for a tenant and two tenants
-- never share a row.

CREATE TABLE known_words (
  tenant text NOT NULL,
  normalised text NOT NULL CHECK (length(normalised) BETWEEN 1 AND 100),
  -- The spelling shown to people (WordNet's lemma or the model's), not used for identity.
  word text NOT NULL,
  -- The 2-3 sentence definition synthesised from the research.
  explanation text NOT NULL CHECK (length(explanation) > 0),
  category text,
  -- Who answered: `wordnet-3.1` or `provider:model`.
  source text NOT NULL,
  task_id uuid,
  learned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, normalised)
);
CREATE INDEX known_words_recent ON known_words (tenant, learned_at DESC);
CREATE INDEX known_words_category ON known_words (tenant, category, normalised);

-- Candidates waiting to be learned. A word stays here until it is learned, whatever round or job
-- found it; `id` orders the queue (oldest first), `attempts` moves words that keep failing back.
CREATE TABLE unknown_words (
  id bigserial NOT NULL,
  tenant text NOT NULL,
  normalised text NOT NULL CHECK (length(normalised) BETWEEN 1 AND 100),
  word text NOT NULL,
  queued_by_task uuid,
  round integer,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  queued_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, normalised)
);
CREATE INDEX unknown_words_queue ON unknown_words (tenant, attempts, id);

-- A big job adds thousands of rows a minute to these tables, starting from none: refresh their
-- planner statistics after 1 % of changes instead of autovacuum's default 10 %, so the queue's
-- head is read by index soon after a job starts (knowledge-store.ts has the measurements).
ALTER TABLE unknown_words SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 500);
ALTER TABLE known_words SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 500);

-- The structured knowledge of a known word, validated against the enrichment schema before it is
-- written. Deep mode fills expanded_definition, applications and misconceptions later.
CREATE TABLE solidified_knowledge (
  tenant text NOT NULL,
  normalised text NOT NULL,
  word text NOT NULL,
  definition text NOT NULL CHECK (length(definition) > 0),
  related_concepts jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(related_concepts) = 'array' AND jsonb_array_length(related_concepts) <= 5),
  examples jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(examples) = 'array' AND jsonb_array_length(examples) <= 2),
  category text,
  source text NOT NULL,
  -- Where the research came from: URLs the research model cited, or the WordNet synsets read.
  "references" jsonb NOT NULL DEFAULT '[]'::jsonb,
  expanded_definition text,
  applications jsonb,
  misconceptions jsonb,
  deepened_source text,
  deepened_at timestamptz,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, normalised),
  FOREIGN KEY (tenant, normalised) REFERENCES known_words (tenant, normalised) ON DELETE CASCADE
);
CREATE INDEX solidified_knowledge_to_deepen ON solidified_knowledge (tenant, created_at) WHERE deepened_at IS NULL;

-- Every token a round proposed, as proposed, per job and round (the seed's raw_training/{job}/rounds).
CREATE TABLE raw_training (
  task_id uuid NOT NULL,
  tenant text NOT NULL,
  round integer NOT NULL,
  position integer NOT NULL,
  token text NOT NULL,
  normalised text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, round, position)
);
CREATE INDEX raw_training_seen ON raw_training (task_id, normalised);

-- One row per learning job (the task id is the job id): what GET /jobs/{id} shows besides the
-- task's status. `errors` holds the most recent errors only (the seed's document grew forever).
CREATE TABLE learning_jobs (
  task_id uuid PRIMARY KEY,
  tenant text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('quick', 'deep', 'big')),
  total_tokens integer NOT NULL DEFAULT 0,
  last_round integer NOT NULL DEFAULT 0,
  words_proposed integer NOT NULL DEFAULT 0,
  words_queued integer NOT NULL DEFAULT 0,
  words_failed integer NOT NULL DEFAULT 0,
  entries_deepened integer NOT NULL DEFAULT 0,
  -- Words this job set out to learn (quick and deep), for progress by work done.
  planned_words integer,
  budget_ms integer,
  deadline_at timestamptz,
  errors jsonb NOT NULL DEFAULT '[]'::jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learning_jobs_tenant ON learning_jobs (tenant, started_at DESC);

-- The quick-mode throttle: at most one quick run per tenant per window (seed: 60 s).
CREATE TABLE learning_quick_runs (
  tenant text PRIMARY KEY,
  last_started_at timestamptz NOT NULL
);
