-- Smart metadata (seed 003): study projects, their files and important dates, and project_meta,
-- the key/value store the AI metadata row lives in. Every table carries `tenant`, and every query
-- of the pipeline filters on it.

CREATE TABLE projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  project_type text NOT NULL CHECK (project_type IN ('self_study', 'school')),
  -- School projects.
  course_name text,
  course_code text,
  teacher text,
  -- Self-study projects.
  goal_description text,
  study_frequency text,
  is_draft boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The nightly back-fill walks non-draft projects in (created_at, id) order with a keyset cursor.
CREATE INDEX projects_backfill_order ON projects (created_at, id) WHERE NOT is_draft;
CREATE INDEX projects_tenant_created ON projects (tenant, created_at DESC, id DESC);

CREATE TABLE project_files (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  position integer NOT NULL,
  name text NOT NULL,
  -- Text extracted from the uploaded file; the metadata prompt reads its first 1,000 characters.
  extracted_text text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, position)
);

CREATE TABLE project_important_dates (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  position integer NOT NULL,
  title text NOT NULL,
  date date NOT NULL,
  UNIQUE (project_id, position)
);

-- One row per (project, key). The pipeline owns only key 'ai_generated_metadata'; every other key
-- belongs to users and is never written or deleted by the pipeline. Deleting a project deletes its
-- rows with it, so no AI row can outlive its project.
CREATE TABLE project_meta (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
  value jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key)
);
CREATE INDEX project_meta_value ON project_meta USING gin (value);
CREATE INDEX project_meta_tenant_key ON project_meta (tenant, key);

-- Per-tenant settings: SHOW_AI_META (tag display in the dashboard) and automatic regeneration
-- when a project's content changes. A tenant without a row has the defaults.
CREATE TABLE smart_metadata_settings (
  tenant text PRIMARY KEY,
  show_ai_meta boolean NOT NULL DEFAULT true,
  regenerate_on_change boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per finished generation (success or final failure), written by whichever process ran
-- it. The Prometheus counters and histograms are computed from these rows at scrape time, so
-- /metrics on any process shows what worker processes did (workers serve no /metrics of their own).
CREATE TABLE project_meta_generations (
  id bigserial PRIMARY KEY,
  tenant text NOT NULL,
  project_id uuid,
  task_id uuid,
  status text NOT NULL CHECK (status IN ('success', 'failure')),
  model_used text NOT NULL,
  project_type text NOT NULL,
  error_type text,
  error_message text,
  duration_seconds double precision NOT NULL,
  content_length_chars integer,
  tags_count integer,
  summary_length_chars integer,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_meta_generations_project ON project_meta_generations (tenant, project_id, created_at DESC);
