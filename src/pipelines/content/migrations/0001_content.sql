-- The content pipeline (seed 002): companies, their researched DNA, personas, monthly topics,
-- blog posts and per-platform social posts, all tenant-scoped, with the seed's content status
-- and the supervisor's approvals. Jobs are taskloom tasks (project_id = the company id); these
-- tables hold what the jobs produced.

CREATE TABLE content_companies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  name text NOT NULL CHECK (length(trim(name)) > 0),
  website text,
  -- The plan decides the queue (paid plans run on ai_priority) and how many personas may be active.
  plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'ultimate')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_companies_tenant ON content_companies (tenant, created_at);

-- One current DNA per company (a new research replaces it; edits are recorded in content_edits).
-- `data` holds the 30+ data points (schemas.ts: companyDna); a point research found nothing for
-- reads "Not found" (or an empty list, or null for the tone scales) and is named in `not_found`.
CREATE TABLE content_company_dna (
  company_id uuid PRIMARY KEY REFERENCES content_companies (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  data jsonb NOT NULL,
  sources jsonb NOT NULL DEFAULT '[]'::jsonb,
  not_found text[] NOT NULL DEFAULT '{}',
  model text NOT NULL,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content_personas (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  position integer NOT NULL,
  name text NOT NULL,
  bio text NOT NULL,
  archetype text NOT NULL CHECK (archetype IN ('innocent', 'everyman', 'hero', 'caregiver', 'explorer', 'rebel', 'lover', 'creator', 'jester', 'sage', 'magician', 'ruler')),
  mbti text NOT NULL CHECK (mbti IN ('INTJ', 'INTP', 'ENTJ', 'ENTP', 'INFJ', 'INFP', 'ENFJ', 'ENFP', 'ISTJ', 'ISFJ', 'ESTJ', 'ESFJ', 'ISTP', 'ISFP', 'ESTP', 'ESFP')),
  "values" text[] NOT NULL CHECK (cardinality("values") BETWEEN 3 AND 5),
  frustrations text[] NOT NULL,
  expertise_topics text[] NOT NULL CHECK (cardinality(expertise_topics) BETWEEN 3 AND 5),
  vocabulary_level text NOT NULL CHECK (vocabulary_level IN ('simple', 'professional', 'academic')),
  -- `active` = selected for content (3-6 of the generated six, capped by the plan).
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_personas_company ON content_personas (company_id, position);

-- The content status every reviewable row shares (topics, blog posts, social posts):
-- draft | generating | pending_approval | approved | rejected | published | failed, who approved
-- or rejected it and when, and the rejection's reason (required: a rejection without one is refused).
CREATE TABLE content_topics (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  persona_id uuid NOT NULL REFERENCES content_personas (id) ON DELETE CASCADE,
  title text NOT NULL,
  description text NOT NULL,
  keywords text[] NOT NULL DEFAULT '{}',
  year integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  month integer NOT NULL CHECK (month BETWEEN 1 AND 12),
  week_number integer NOT NULL CHECK (week_number BETWEEN 1 AND 5),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'generating', 'pending_approval', 'approved', 'rejected', 'published', 'failed')),
  approved_by text,
  approved_at timestamptz,
  rejected_by text,
  rejected_at timestamptz,
  rejection_reason text,
  published_at timestamptz,
  -- Bumped by each regeneration, so a run's approval gate is per version of the row.
  version integer NOT NULL DEFAULT 1,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'rejected' OR length(trim(coalesce(rejection_reason, ''))) > 0)
);
CREATE INDEX content_topics_company ON content_topics (company_id, year, month, week_number);
CREATE INDEX content_topics_pending ON content_topics (tenant, company_id) WHERE status = 'pending_approval';

CREATE TABLE content_images (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  media_type text NOT NULL,
  data bytea NOT NULL,
  prompt text NOT NULL,
  model text NOT NULL,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content_blog_posts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  -- One post per topic: a regeneration rewrites it (version + 1).
  topic_id uuid NOT NULL UNIQUE REFERENCES content_topics (id) ON DELETE CASCADE,
  persona_id uuid NOT NULL REFERENCES content_personas (id) ON DELETE CASCADE,
  title text NOT NULL,
  content text NOT NULL,
  excerpt text NOT NULL,
  meta_title text NOT NULL CHECK (length(meta_title) <= 60),
  meta_description text NOT NULL CHECK (length(meta_description) <= 160),
  slug text NOT NULL,
  keywords text[] NOT NULL DEFAULT '{}',
  word_count integer NOT NULL,
  reading_time_minutes integer NOT NULL,
  featured_image_id uuid REFERENCES content_images (id) ON DELETE SET NULL,
  outline jsonb NOT NULL DEFAULT '[]'::jsonb,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'generating', 'pending_approval', 'approved', 'rejected', 'published', 'failed')),
  approved_by text,
  approved_at timestamptz,
  rejected_by text,
  rejected_at timestamptz,
  rejection_reason text,
  published_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'rejected' OR length(trim(coalesce(rejection_reason, ''))) > 0)
);
CREATE INDEX content_blog_posts_company ON content_blog_posts (company_id, created_at);

CREATE TABLE content_social_posts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  blog_post_id uuid NOT NULL REFERENCES content_blog_posts (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('facebook', 'instagram', 'linkedin', 'twitter', 'tiktok')),
  text text NOT NULL,
  hashtags text[] NOT NULL DEFAULT '{}',
  cta_text text NOT NULL DEFAULT '',
  -- Characters of the post as published: text, a blank line, the hashtags.
  character_count integer NOT NULL,
  image_id uuid REFERENCES content_images (id) ON DELETE SET NULL,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'generating', 'pending_approval', 'approved', 'rejected', 'published', 'failed')),
  approved_by text,
  approved_at timestamptz,
  rejected_by text,
  rejected_at timestamptz,
  rejection_reason text,
  published_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  task_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (blog_post_id, platform),
  CHECK (status <> 'rejected' OR length(trim(coalesce(rejection_reason, ''))) > 0)
);

-- Every edit a person made to generated content: which fields, from what to what, by which key.
CREATE TABLE content_edits (
  id bigserial PRIMARY KEY,
  tenant text NOT NULL,
  entity text NOT NULL CHECK (entity IN ('company', 'company_dna', 'persona', 'topic', 'blog_post', 'social_post')),
  entity_id uuid NOT NULL,
  edited_by text NOT NULL,
  changes jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_edits_entity ON content_edits (entity, entity_id, id);

-- The decisions a content_pipeline run waits for: the persona selection, each topic's approval,
-- each blog post's approval. The run opens a gate (in the step that asks for the decision) and
-- waits on the engine's waitpoint of the same key; the API's decision closes the gate and
-- completes the waitpoint in one transaction, so the run moves on exactly when the decision commits.
CREATE TABLE content_gates (
  run_task_id uuid NOT NULL,
  gate_key text NOT NULL,
  tenant text NOT NULL,
  company_id uuid NOT NULL REFERENCES content_companies (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('personas', 'topic', 'blog_post')),
  entity_id uuid,
  version integer NOT NULL DEFAULT 1,
  waitpoint_id text,
  decision jsonb,
  decided_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_task_id, gate_key)
);
CREATE INDEX content_gates_open_entity ON content_gates (tenant, kind, entity_id) WHERE decided_at IS NULL;
CREATE INDEX content_gates_open_company ON content_gates (tenant, company_id, kind) WHERE decided_at IS NULL;
