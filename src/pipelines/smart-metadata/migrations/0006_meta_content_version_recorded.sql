-- The AI row's content_changed_at now records the content it was generated from even when an edit
-- landed during the model call (to the microsecond, older than the project's), where migration
-- 0005 left it null. The nightly back-fill can then tell a row that describes older content than
-- its project (a regeneration on content change that failed for good, or whose follow-up was
-- cancelled) and regenerate it, for tenants with regenerate_on_change. Rows an earlier version
-- left null are judged by their updated_at (meta-store.ts, describesOlderContent).
COMMENT ON COLUMN project_meta.content_changed_at IS
  'content version (projects.content_changed_at) the AI row was generated from; null: stored before migration 0006 without one';
