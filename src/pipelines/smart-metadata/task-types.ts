/**
 * The smart metadata pipeline's task types: their names, queues and descriptions, as its
 * definition lists them and its task definitions spread them. Nothing but types is imported here,
 * so the definition stays light (see src/kit/pipeline.ts).
 */
import type { TaskTypeSummary } from '../../engine/task-definition.ts';

export const generateProjectMetaType = 'generate_project_meta';
export const followUpProjectMetaType = 'follow_up_project_meta';
export const generateMissingMetadataType = 'generate_missing_metadata';
export const cleanupOldMetadataType = 'cleanup_old_metadata';

export const generateProjectMetaSummary: TaskTypeSummary = {
  type: generateProjectMetaType,
  queue: 'ai_jobs',
  description: 'Generates a project\'s AI metadata (seed 003): 3-10 tags (fewer from the offline analyser for a project with little text), a content summary and a difficulty level, from one structured LLM call (or the offline extractive analyser without a provider key), stored as project_meta key ai_generated_metadata.',
};

export const followUpProjectMetaSummary: TaskTypeSummary = {
  type: followUpProjectMetaType,
  queue: 'quick',
  description: 'The regeneration an edit of a project\'s content is owed when a generation of the project was already active (it may have read the text before the edit, or end skipped, failed or cancelled): waits until no generation of the project is active, then submits generate_project_meta (content_change), which skips content the stored metadata already describes.',
};

export const generateMissingMetadataSummary: TaskTypeSummary = {
  type: generateMissingMetadataType,
  // Seed 003's Celery task; its callers' name keeps working.
  aliases: ['generate_missing_metadata_nightly'],
  queue: 'scheduled',
  description: 'Nightly back-fill (seed 003): AI metadata for every non-draft project older than an hour without it (and, for tenants that regenerate on change, with metadata of older content), in batches of 10, in a stable checkpointed order, at most TASKLOOM_METADATA_RPM model requests a minute.',
};

export const cleanupOldMetadataSummary: TaskTypeSummary = {
  type: cleanupOldMetadataType,
  queue: 'scheduled',
  description: 'Weekly cleanup (seed 003): removes the AI metadata (key ai_generated_metadata only, never users\' keys) of draft projects older than 7 days, and reports what it removed.',
};
