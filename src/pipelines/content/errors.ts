/**
 * The content pipeline's errors: stable codes, HTTP status, and the context to act on them.
 */
import { TaskloomError, type ErrorDetails } from '../../errors.ts';

/** A request that contradicts the row's current state (409), e.g. approving what is not pending. */
export class ConflictError extends TaskloomError {
  constructor(code: string, message: string, details: ErrorDetails) {
    super(code, message, { httpStatus: 409, details, retryable: false });
  }
}

/** A row is not in the status an action needs; carries the current status. */
export class InvalidStatusError extends ConflictError {
  constructor(entity: string, id: string, status: string, expected: readonly string[]) {
    super('invalid_status', `The ${entity.replace('_', ' ')} ${id} is ${status}; this needs it ${expected.join(' or ')}.`, { entity, id, status, current_status: status, expected });
  }
}

/**
 * A job was asked to rewrite a post that is approved or published (review.ts `finalStatuses`). Its
 * code is `invalid_status`, as for any other status that refuses an action.
 */
export class FinalPostError extends ConflictError {
  constructor(entity: 'blog_post' | 'social_post', id: string, status: string, expected: readonly string[]) {
    super('invalid_status', `The ${entity.replace('_', ' ')} ${id} is ${status}, which is final: no job rewrites it. Write a new post on another topic instead${entity === 'social_post' ? ', or leave this platform out of the request' : ''}.`, { entity, id, status, current_status: status, expected });
  }
}

/** A blog post job was asked for while another job is writing (or is about to write) the topic's post. */
export class PostBeingWrittenError extends ConflictError {
  constructor(topicId: string, postId: string | null, jobId: string) {
    super('post_being_written', `The blog post of topic ${topicId} is being written by job ${jobId}; wait for it to end, or cancel it (POST /api/v1/ai/jobs/${jobId}/cancel/), before asking for another.`, { topic_id: topicId, blog_post_id: postId, job_id: jobId });
  }
}

/** No image provider is configured: generating an image is refused, never faked. */
export class ImageProviderNotConfiguredError extends TaskloomError {
  constructor() {
    super('provider_not_configured', 'No image provider is configured: set TASKLOOM_CONTENT_IMAGE_MODEL (e.g. openai:gpt-image-1 with OPENAI_API_KEY, or openai-compatible:MODEL with OPENAI_COMPATIBLE_BASE_URL). No placeholder image is made.', { httpStatus: 422, retryable: false });
  }
}

/**
 * Personas are written from the company's DNA (the seed: "Uses Company DNA as context"), and the
 * company has none: researched never, or every research failed. Written from the name alone they
 * would be invented, and stored as if they were the company's.
 */
export class DnaRequiredError extends ConflictError {
  constructor(companyId: string) {
    super('dna_required', `Company ${companyId} has no DNA yet: personas are written from it. Research it first (POST /api/v1/ai/companies/${companyId}/scrape-dna/), then ask for personas again.`, { company_id: companyId });
  }
}

/** The company's plan does not include what was asked for (the seed: images are [PRO+]). */
export class PlanRequiredError extends TaskloomError {
  constructor(details: { company_id: string; plan: string; feature: string; plans: readonly string[] }) {
    super('plan_required', `Company ${details.company_id} is on the ${details.plan} plan; ${details.feature} need the ${details.plans.join(' or ')} plan. Change its plan (PATCH /api/v1/content/companies/${details.company_id} with {"plan": "${details.plans[0]}"}) or leave ${details.feature} out.`, { httpStatus: 403, details, retryable: false });
  }
}

/** A job submitted by name onto the paid plans' queue for a company on the free plan. */
export class PriorityQueuePlanError extends TaskloomError {
  constructor(details: { company_id: string; plan: string; task_type: string; job_type: string }) {
    super('plan_required', `Company ${details.company_id} is on the ${details.plan} plan, whose jobs run on the ai_jobs queue: submit "${details.job_type}", not "${details.task_type}" (the API's job routes pick the queue from the plan), or change the company's plan to pro or ultimate.`, { httpStatus: 403, details, retryable: false });
  }
}

/** A generated post kept breaking its platform's rules after every regeneration. */
export class PlatformRulesError extends TaskloomError {
  constructor(platform: string, violations: string[], attempts: number) {
    super('platform_rules_violated', `The ${platform} post still breaks its platform's rules after ${attempts} generations: ${violations.join('; ')}.`, { httpStatus: 422, details: { platform, violations, attempts }, retryable: false });
  }
}

/** A blog post's length stayed outside the asked range after the extra sections were written. */
export class LengthOutOfRangeError extends TaskloomError {
  constructor(words: number, minimum: number, maximum: number) {
    super('length_out_of_range', `The blog post has ${words} words; ${minimum}-${maximum} were asked for.`, { httpStatus: 422, details: { word_count: words, min_words: minimum, max_words: maximum }, retryable: false });
  }
}

/**
 * A content_pipeline run waited `approval_timeout_hours` for the persona selection and none came.
 * Unlike topics and posts, where the run goes on with what was approved, nothing was selected, so
 * there is nothing to go on with: the run fails and says how to start again.
 */
export class ApprovalTimedOutError extends TaskloomError {
  constructor(details: { run_task_id: string; company_id: string; gate: 'personas'; approval_timeout_hours: number }) {
    super('approval_timed_out', `Run ${details.run_task_id} waited ${details.approval_timeout_hours} hours (approval_timeout_hours) for the persona selection of company ${details.company_id} and none came, so it cannot go on. Select personas (POST /api/v1/content/personas/select/) and start a new run, or start one with persona_ids or auto_select_personas.`, { httpStatus: 409, details, retryable: false });
  }
}
