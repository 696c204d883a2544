-- Which content the AI row describes: the project's `content_changed_at` of the text it was
-- generated from, stored only when that text was still the project's at the save (an edit during
-- the model call leaves it null, as do rows stored before this column and users' keys). While it
-- equals `projects.content_changed_at` the row describes the current content, so a regeneration
-- after a content change that finds it equal has nothing to do: a follow-up queued behind a
-- generation that did read the edit (follow-up-task.ts) then costs no model call.
ALTER TABLE project_meta ADD COLUMN content_changed_at timestamptz;
