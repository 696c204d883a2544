-- When the text the metadata is built from last changed. The debounce of a regeneration on
-- content change, and its check for edits made while the model answered, read this instead of
-- updated_at: every PATCH moves updated_at, so toggling is_draft alone held a regeneration back
-- for as long as it went on, and an edit of it during a model call cost another model round.
ALTER TABLE projects ADD COLUMN content_changed_at timestamptz;
UPDATE projects SET content_changed_at = updated_at;
ALTER TABLE projects ALTER COLUMN content_changed_at SET NOT NULL, ALTER COLUMN content_changed_at SET DEFAULT now();
