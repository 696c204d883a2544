/**
 * The content pipeline's task types (seed 002): its job types, what each does, and the two task
 * types each is registered as. The pipeline's definition lists them and contentJob builds from
 * them. Nothing but types is imported here, so the definition stays light and the dashboard's
 * typecheck, which reads schemas.ts, does not reach the kit.
 */
import type { TaskTypeSummary } from '../../engine/task-definition.ts';
import type { Plan } from './schemas.ts';

/** The seed's JobType names (prefix GENERATE_*), plus the run that chains them. */
export const jobTypes = {
  dna: 'generate_dna',
  personas: 'generate_personas',
  topics: 'generate_topics',
  blogpost: 'generate_blogpost',
  social: 'generate_social',
  image: 'generate_image',
  pipeline: 'content_pipeline',
} as const;
export type JobType = (typeof jobTypes)[keyof typeof jobTypes];
export const jobTypeNames: readonly JobType[] = Object.values(jobTypes);

/**
 * A paid plan's jobs run on the seed's `ai_priority` queue. A task type has one queue, so each job
 * type is registered twice: `generate_dna` on `ai_jobs` and `generate_dna@ai_priority`; the API
 * reports both as `generate_dna` with their queue.
 */
export const priorityQueue = 'ai_priority';
export function taskTypeFor(jobType: JobType, plan: Plan): string {
  return plan === 'free' ? jobType : `${jobType}@${priorityQueue}`;
}
export function jobTypeOf(taskType: string): JobType | undefined {
  const base = taskType.split('@')[0] as JobType;
  return jobTypeNames.includes(base) ? base : undefined;
}

/** What each job does. */
const jobDescriptions: Record<JobType, string> = {
  [jobTypes.dna]: 'Research a company\'s DNA (30+ data points, "Not found" where research found nothing) with the research model',
  [jobTypes.personas]: 'Generate personas (six by default: Jung archetype, MBTI type, values, frustrations, expertise) from the company\'s DNA',
  [jobTypes.topics]: 'Plan a month of topics (year, month, posts_count) spread evenly over the selected personas and the month\'s weeks, or rewrite one rejected topic (topic_id, rejection_reason); topics wait for a supervisor\'s approval',
  [jobTypes.blogpost]: 'Write a blog post for an approved topic from an outline, section by section, with its length checked (1,500-2,500 words by default)',
  [jobTypes.social]: 'Turn an approved blog post into social posts, one child task per platform, each checked against its platform\'s rules and regenerated when it breaks them',
  [jobTypes.image]: 'Generate a featured (blog post) or social post image with the configured image model; provider_not_configured without one',
  [jobTypes.pipeline]: 'The whole chain for a company and a month as one durable run: DNA, personas, selection, topics, an approval per topic, blog posts, an approval per post, social posts',
};

/** A job type's two task types: on `ai_jobs` for the free plan, `<type>@ai_priority` for paid plans. */
export function jobTaskTypes(jobType: JobType): TaskTypeSummary[] {
  return (['ai_jobs', priorityQueue] as const).map((queue) => ({
    type: queue === 'ai_jobs' ? jobType : `${jobType}@${queue}`,
    queue,
    description: `${jobDescriptions[jobType]} (queue ${queue}${queue === priorityQueue ? ': paid plans' : ''})`,
  }));
}
