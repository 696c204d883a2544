-- Automated gather (seeds 000/001): departments, gather items and department evaluations.
--
-- Departments are per tenant. Rows with project_id NULL are the tenant's defaults; rows with a
-- project_id replace the defaults for that one project (PUT /api/v1/projects/{id}/departments).
-- Tenant 'default' is seeded here with the seven Aladdin departments; any other tenant receives
-- the same seven the first time its departments are read (pipelines/automated-gather/departments.ts).
-- With PAYLOAD_API_URL set, departments come from Payload CMS instead and this table is not read.

CREATE TABLE departments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id text,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  code_dep_number integer NOT NULL,
  gather_check boolean NOT NULL DEFAULT true,
  is_active boolean NOT NULL DEFAULT true,
  default_model text,
  -- {minQualityThreshold (0-100, default 80), maxRetries}
  coordination_settings jsonb NOT NULL DEFAULT '{"minQualityThreshold": 80, "maxRetries": 3}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX departments_scope_slug ON departments (tenant, coalesce(project_id, ''), slug);
CREATE INDEX departments_scope_order ON departments (tenant, project_id, code_dep_number);

INSERT INTO departments (tenant, slug, name, description, code_dep_number, default_model, coordination_settings) VALUES
  ('default', 'story', 'Story Department', 'Story structure, premise, plot beats, acts, themes, conflicts, narrative arcs and the world the story happens in.', 1, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'character', 'Character Department', 'Characters: their backgrounds, motivations, personalities, relationships, arcs, voices and appearance.', 2, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'visual', 'Visual Department', 'Visual style: art direction, colour palettes, lighting, locations, set design, costumes and reference imagery.', 3, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'image-quality', 'Image Quality Department', 'Image quality: consistency of characters and locations across shots, resolution, composition rules and visual continuity checks.', 4, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'video', 'Video Department', 'Video: shot lists, camera movement, framing, pacing, editing rhythm, transitions and scene timing.', 5, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'audio', 'Audio Department', 'Audio: dialogue delivery, voice casting, music themes, sound effects, ambience and the final mix.', 6, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}'),
  ('default', 'production', 'Production Department', 'Production: schedule, budget, scene breakdown, asset tracking, rendering plan, risks and delivery.', 7, 'anthropic/claude-sonnet-4.5', '{"minQualityThreshold": 80, "maxRetries": 3}');

-- Gather items, with the seed's fields. `department` is the department slug ('' for items not
-- tied to a department). content_hash is sha256 of the normalised content; the unique index makes
-- a second copy of the same text in one department impossible, whatever races a resume may run.
CREATE TABLE gather_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id text NOT NULL,
  department text NOT NULL DEFAULT '',
  content text NOT NULL,
  summary text NOT NULL DEFAULT '',
  context text NOT NULL DEFAULT '',
  is_automated boolean NOT NULL DEFAULT false,
  created_by text,
  -- Highest similarity to an earlier item found when the item was checked (null: not checked).
  duplicate_check_score real,
  -- {taskId, department, departmentName, departmentNumber, iteration, qualityScore, model, basedOnNodes}
  automation_metadata jsonb,
  content_hash text NOT NULL,
  -- The embedding used for duplicate search (no pgvector: cosine runs in the worker over one
  -- department's items, a few hundred rows at most).
  embedding real[],
  embedding_model text,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_updated timestamptz NOT NULL DEFAULT now()
);
-- Vectors barely compress; storing them uncompressed saves the pglz pass on every insert.
ALTER TABLE gather_items ALTER COLUMN embedding SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX gather_items_unique_content ON gather_items (tenant, project_id, department, content_hash);
CREATE INDEX gather_items_listing ON gather_items (tenant, project_id, created_at, id);
CREATE INDEX gather_items_department ON gather_items (tenant, project_id, department, created_at, id);
CREATE INDEX gather_items_task ON gather_items (task_id) WHERE task_id IS NOT NULL;

-- One row per evaluate_department task (the unique task_id makes the write idempotent).
CREATE TABLE department_evaluations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  project_id text NOT NULL,
  department text NOT NULL,
  department_number integer,
  task_id uuid NOT NULL UNIQUE,
  gather_task_id uuid,
  user_id text,
  auto_triggered boolean NOT NULL DEFAULT false,
  rating integer NOT NULL CHECK (rating BETWEEN 0 AND 100),
  summary text NOT NULL,
  strengths jsonb NOT NULL DEFAULT '[]'::jsonb,
  weaknesses jsonb NOT NULL DEFAULT '[]'::jsonb,
  recommendations jsonb NOT NULL DEFAULT '[]'::jsonb,
  items_evaluated integer NOT NULL,
  model text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX department_evaluations_project ON department_evaluations (tenant, project_id, created_at DESC, id DESC);
