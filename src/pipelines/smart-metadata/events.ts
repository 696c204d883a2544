/**
 * The events the smart metadata pipeline emits, with their payloads (documentation and test
 * contracts; `GET /api/v1/pipelines` shows them as JSON Schema).
 */
import { z } from 'zod';
import { difficultyLevels } from './schemas.ts';

export const metadataEvents = {
  metadata_generated: z.object({
    project_id: z.uuid(),
    model_used: z.string(),
    prompt_version: z.string(),
    ai_generated_tags: z.array(z.string()),
    difficulty_level: z.enum(difficultyLevels),
    force_regenerate: z.boolean(),
    trigger: z.enum(['api', 'cli', 'content_change', 'backfill']),
  }).describe('generate_project_meta, or the nightly back-fill (trigger `backfill`), stored a project\'s AI metadata (in the same transaction as the row).'),
  metadata_generation_failed: z.object({
    project_id: z.uuid(),
    error_type: z.string(),
    error: z.string(),
    code: z.string(),
  }).describe('generate_project_meta failed for good (no retry left), or the nightly back-fill failed on the project; nothing was stored.'),
  metadata_cleaned_up: z.object({
    removed_count: z.number().int(),
    project_ids: z.array(z.uuid()).describe('The first 100.'),
  }).describe('cleanup_old_metadata removed AI metadata of old draft projects.'),
};
