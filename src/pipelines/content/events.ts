/**
 * The content pipeline's events, by name, with their payloads. Every payload carries the company.
 */
import { z } from 'zod';

const company = { company_id: z.string() };

export const contentEvents = {
  dna_generated: z.object({ ...company, not_found: z.array(z.string()), sources: z.number(), model: z.string(), offline: z.literal(true).optional().describe('no research model from a provider: nothing was researched') }),
  personas_generated: z.object({ ...company, personas: z.number(), model: z.string() }),
  topics_generated: z.object({ ...company, persona_id: z.string(), topics: z.number(), year: z.number(), month: z.number() }),
  topic_regenerated: z.object({ ...company, topic_id: z.string(), reason: z.string() }),
  blogpost_outlined: z.object({ ...company, topic_id: z.string(), sections: z.number() }),
  blogpost_section_written: z.object({ ...company, topic_id: z.string(), section: z.number(), words: z.number() }),
  blogpost_generated: z.object({ ...company, topic_id: z.string(), blog_post_id: z.string(), word_count: z.number(), length_ok: z.boolean() }),
  platform_rules_broken: z.object({ ...company, blog_post_id: z.string(), platform: z.string(), generation: z.number(), violations: z.array(z.string()) }),
  social_post_generated: z.object({ ...company, blog_post_id: z.string(), social_post_id: z.string(), platform: z.string(), character_count: z.number(), hashtags: z.number() }),
  image_generated: z.object({ ...company, image_id: z.string(), target: z.string(), target_id: z.string(), model: z.string() }),
  pipeline_stage: z.object({ ...company, stage: z.string(), message: z.string() }),
  approval_requested: z.object({ ...company, kind: z.string(), id: z.string(), version: z.number() }),
  /** Every approval and rejection, as it lands: in the waiting run's log, else in that of the job that wrote the row (gates.ts). */
  approval_decided: z.object({ ...company, kind: z.string(), id: z.string(), decision: z.enum(['approved', 'rejected']), by: z.string().nullable(), reason: z.string().nullable() }),
} satisfies Record<string, z.ZodType>;
