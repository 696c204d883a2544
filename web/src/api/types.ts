/**
 * The API's shapes as the dashboard reads them (see docs/api.md and /openapi.json).
 */

export const taskStatuses = ['queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof taskStatuses)[number];
export const terminalStatuses: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

export interface Task {
  task_id: string;
  id: string;
  /** The task that submitted this one as its child (`context.submitChild`), else null. */
  parent_task_id: string | null;
  task_type: string;
  project_id: string | null;
  queue: string;
  priority: number;
  status: TaskStatus;
  progress: number;
  progress_message: string | null;
  task_data: unknown;
  result: unknown;
  error: unknown;
  attempts: number;
  max_attempts: number;
  callback_url: string | null;
  idempotency_key: string | null;
  cancel_requested_at: string | null;
  next_attempt_at: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

/** GET /api/v1/tasks/ID/children: the first 1,000, oldest first, and counts of all of them. */
export interface TaskChildren {
  task_id: string;
  children: Task[];
  total: number;
  settled: number;
  /** More children exist than `children` lists. */
  truncated: boolean;
}

/** What a `waiting` task waits for (GET /api/v1/waitpoints, docs/api.md "Waitpoints"). */
export interface Waitpoint {
  id: string;
  task_id: string;
  project_id: string | null;
  key: string;
  /** `input`: a person or a system completes it; `timer`: durable sleep; `children`: child tasks settle. */
  kind: 'input' | 'timer' | 'children';
  status: 'pending' | 'completed' | 'timed_out' | 'cancelled';
  /** JSON Schema the completion payload must match (input waitpoints). */
  schema: JsonSchema | null;
  payload: unknown;
  /** Child task ids (children waitpoints), in submission order. */
  children: string[] | null;
  completed_by: string | null;
  completed_at: string | null;
  /** When an input or children wait times out; when a timer wakes. */
  timeout_at: string | null;
  created_at: string;
}

export interface TaskPage {
  tasks: Task[];
  next_cursor: string | null;
}

export type StatusCounts = Record<TaskStatus, number> & { total: number };

export interface TaskStats {
  total: number;
  by_status: StatusCounts;
  by_type: Record<string, StatusCounts>;
  by_queue: Record<string, StatusCounts>;
  queue_depth: Record<string, number>;
  durations: { window_hours: number; by_type: Record<string, { count: number; mean_ms: number; p95_ms: number }> };
  /** Tasks that ended per 5 minutes over the last hour, oldest slot first. */
  ended_last_hour: Array<{ start: string; completed: number; failed: number; cancelled: number }>;
}

/** A JSON Schema as zod 4 produces it (the subset the form generator reads). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
}

export interface TaskType {
  type: string;
  description?: string;
  queue: string;
  priority: number;
  max_attempts: number;
  soft_timeout_ms: number | null;
  hard_timeout_ms: number | null;
  input_schema: JsonSchema;
}

export interface TaskEvent {
  id: number;
  task_id: string;
  tenant?: string;
  project_id: string | null;
  type: string;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }>; [key: string]: unknown } };
}

export interface SubmitResponse {
  task_id: string;
  status: string;
  message: string;
}

export interface Department {
  id: string;
  slug: string;
  name: string;
  description: string;
  codeDepNumber: number;
  gatherCheck: boolean;
  isActive: boolean;
  defaultModel: string | null;
  coordinationSettings: { minQualityThreshold: number; maxRetries: number };
}

export interface GatherItem {
  id: string;
  projectId: string;
  department: string;
  content: string;
  summary: string;
  context: string;
  isAutomated: boolean;
  createdBy: string | null;
  duplicateCheckScore: number | null;
  automationMetadata: {
    taskId: string;
    department: string;
    departmentName: string;
    departmentNumber: number;
    iteration: number;
    qualityScore: number | null;
    model: string;
    basedOnNodes: string[];
  } | null;
  createdAt: string;
  lastUpdated: string;
}

export interface DepartmentEvaluation {
  id: string;
  projectId: string;
  department: string;
  departmentNumber: number | null;
  taskId: string;
  gatherTaskId: string | null;
  rating: number;
  summary: string;
  strengths: string[];
  weaknesses: string[];
  recommendations: string[];
  itemsEvaluated: number;
  model: string | null;
  createdAt: string;
}

/** Totals over a set of LLM calls (GET /api/v1/tasks/ID/llm-calls, GET /api/v1/llm/usage). */
export interface LlmCallTotals {
  calls: number;
  failed_calls: number;
  cached_calls: number;
  input_tokens: number;
  output_tokens: number;
  /** USD; null when some call has no price. */
  cost_usd: number | null;
}

/** One row of `llm_calls`: a provider request (failed ones included) or a cache hit. */
export interface LlmCall {
  id: number;
  step: string | null;
  purpose: 'generation' | 'judging' | 'research' | 'embedding';
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
  cache_hit: boolean;
  attempt: number;
  cost_usd: number | null;
  error_code: string | null;
  created_at: string;
}

/** GET /api/v1/tasks/ID/llm-calls */
export interface TaskLlmCalls {
  task_id: string;
  calls: LlmCall[];
  /** More calls exist than are listed (the newest are); the totals cover them all. */
  truncated: boolean;
  totals: LlmCallTotals;
}

/** GET /api/v1/llm/usage */
export interface LlmUsageSummary {
  since: string;
  totals: LlmCallTotals;
  by_model: Array<{ model: string; calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null }>;
}
