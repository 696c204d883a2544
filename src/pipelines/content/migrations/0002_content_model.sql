-- Which model wrote each row's text, as `provider:model` (the gateway's id after any fallback;
-- for a blog post written in several calls, each distinct model, comma-separated). An id starting
-- `offline:` is the offline stand-in: the dashboard labels such rows, and a content_pipeline run
-- with `reuse_existing` writes offline DNA and personas again once a provider is configured.
-- NULL for rows written before this migration.
ALTER TABLE content_personas ADD COLUMN model text;
ALTER TABLE content_topics ADD COLUMN model text;
ALTER TABLE content_blog_posts ADD COLUMN model text;
ALTER TABLE content_social_posts ADD COLUMN model text;
