/**
 * Automated gather runs rebuilt from a project's events (seed 001 names): which departments a
 * run walks, each one's iterations and quality scores, and how the run ended. Pure functions,
 * so a replay and live events build exactly the same state.
 */
import type { TaskEvent } from '@dashboard/api/types.ts';

export interface IterationPoint {
  iteration: number;
  totalIteration: number;
  score: number;
  itemsCreated: number;
  duplicatesRemoved: number | null;
  itemsGenerated: number | null;
  missingAspects: string[];
}

export type DepartmentRunStatus = 'pending' | 'running' | 'deduplicating' | 'complete' | 'skipped';

export interface DepartmentRun {
  slug: string;
  name: string;
  number: number | null;
  threshold: number | null;
  model: string | null;
  status: DepartmentRunStatus;
  iterations: IterationPoint[];
  itemsCreated: number;
  qualityScore: number | null;
  thresholdReached: boolean | null;
  stoppedBecause: string | null;
  evaluationTaskId: string | null;
}

export type GatherRunStatus = 'running' | 'completed' | 'timeout' | 'cancelled' | 'failed';

export interface GatherRun {
  taskId: string;
  startedAt: string;
  lastEventAt: string;
  lastEventId: number;
  status: GatherRunStatus;
  maxIterations: number | null;
  totalIterations: number;
  itemsCreated: number;
  progress: number | null;
  progressMessage: string | null;
  departments: DepartmentRun[];
  warnings: Array<{ id: number; type: string; message: string }>;
  error: string | null;
}

const gatherEventTypes = new Set([
  'automation_started', 'department_started', 'deduplicating', 'iteration_complete', 'department_complete', 'automation_complete',
  'automation_timeout', 'automation_error', 'automation_cancelled', 'max_iterations_reached', 'quality_stagnant', 'automation_warning',
]);

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function number(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function department(run: GatherRun, slug: string, name?: string | null): DepartmentRun {
  let entry = run.departments.find((candidate) => candidate.slug === slug);
  if (!entry) {
    entry = { slug, name: name ?? slug, number: null, threshold: null, model: null, status: 'pending', iterations: [], itemsCreated: 0, qualityScore: null, thresholdReached: null, stoppedBecause: null, evaluationTaskId: null };
    run.departments.push(entry);
  }
  if (name) entry.name = name;
  return entry;
}

/** Applies one event to the runs (mutating them; callers copy for rendering). */
export function applyGatherEvent(runs: Map<string, GatherRun>, event: TaskEvent): boolean {
  const payload = event.payload ?? {};
  let run = runs.get(event.task_id);
  if (!run) {
    if (!gatherEventTypes.has(event.type)) return false;
    run = {
      taskId: event.task_id, startedAt: event.created_at, lastEventAt: event.created_at, lastEventId: event.id, status: 'running', maxIterations: null,
      totalIterations: 0, itemsCreated: 0, progress: null, progressMessage: null, departments: [], warnings: [], error: null,
    };
    runs.set(event.task_id, run);
  }
  run.lastEventAt = event.created_at;
  run.lastEventId = event.id;
  const slug = text(payload.department);
  switch (event.type) {
    case 'automation_started': {
      run.maxIterations = number(payload.max_iterations);
      const slugs = Array.isArray(payload.departments) ? payload.departments.filter((value): value is string => typeof value === 'string') : [];
      for (const name of slugs) department(run, name);
      break;
    }
    case 'department_started':
      if (slug) {
        const entry = department(run, slug, text(payload.department_name));
        entry.status = 'running';
        entry.number = number(payload.department_number);
        entry.threshold = number(payload.threshold);
        entry.model = text(payload.model);
      }
      break;
    case 'deduplicating':
      if (slug) department(run, slug, text(payload.department_name)).status = 'deduplicating';
      break;
    case 'iteration_complete':
      if (slug) {
        const entry = department(run, slug, text(payload.department_name));
        entry.status = 'running';
        const iteration = number(payload.iteration) ?? entry.iterations.length + 1;
        entry.iterations = entry.iterations.filter((point) => point.iteration !== iteration);
        entry.iterations.push({
          iteration,
          totalIteration: number(payload.total_iterations) ?? run.totalIterations + 1,
          score: number(payload.quality_score) ?? 0,
          itemsCreated: number(payload.items_created) ?? 0,
          duplicatesRemoved: number(payload.duplicates_removed),
          itemsGenerated: number(payload.items_generated),
          missingAspects: Array.isArray(payload.missing_aspects) ? payload.missing_aspects.map(String) : [],
        });
        entry.iterations.sort((a, b) => a.iteration - b.iteration);
        entry.qualityScore = number(payload.quality_score);
        entry.threshold = number(payload.threshold) ?? entry.threshold;
        entry.itemsCreated = number(payload.department_items_created) ?? entry.iterations.reduce((sum, point) => sum + point.itemsCreated, 0);
        run.totalIterations = Math.max(run.totalIterations, number(payload.total_iterations) ?? 0);
        run.maxIterations = number(payload.max_iterations) ?? run.maxIterations;
      }
      break;
    case 'department_complete':
      if (slug) {
        const entry = department(run, slug, text(payload.department_name));
        entry.status = 'complete';
        entry.qualityScore = number(payload.quality_score) ?? entry.qualityScore;
        entry.itemsCreated = number(payload.items_created) ?? entry.itemsCreated;
        entry.threshold = number(payload.threshold) ?? entry.threshold;
        entry.thresholdReached = typeof payload.threshold_reached === 'boolean' ? payload.threshold_reached : entry.qualityScore !== null && entry.threshold !== null ? entry.qualityScore >= entry.threshold : null;
        entry.stoppedBecause = text(payload.stopped_because);
        entry.evaluationTaskId = text(payload.evaluation_task_id);
      }
      break;
    case 'automation_complete':
      run.status = 'completed';
      run.totalIterations = number(payload.total_iterations) ?? run.totalIterations;
      run.itemsCreated = number(payload.items_created) ?? run.itemsCreated;
      break;
    case 'automation_timeout':
      run.status = 'timeout';
      run.warnings.push({ id: event.id, type: event.type, message: 'Soft time limit reached: the run stopped after its last saved step.' });
      break;
    case 'automation_cancelled':
      run.status = 'cancelled';
      break;
    case 'automation_error':
      run.error = text(payload.error);
      if (payload.will_retry !== true) run.status = 'failed';
      run.warnings.push({ id: event.id, type: event.type, message: `${text(payload.error) ?? 'error'}${payload.will_retry === true ? ' (will retry)' : ''}` });
      break;
    case 'max_iterations_reached': {
      const skipped = Array.isArray(payload.departments_skipped) ? payload.departments_skipped.map(String) : [];
      for (const name of skipped) {
        const entry = department(run, name);
        if (entry.status === 'pending') entry.status = 'skipped';
      }
      run.warnings.push({ id: event.id, type: event.type, message: `Iteration budget of ${String(payload.max_iterations)} used up${skipped.length > 0 ? `; not gathered: ${skipped.join(', ')}` : ''}.` });
      break;
    }
    case 'quality_stagnant':
      run.warnings.push({ id: event.id, type: event.type, message: `${text(payload.department_name) ?? slug}: quality stuck at ${String(payload.quality_score)} for ${String(payload.iterations_without_improvement)} iterations (threshold ${String(payload.threshold)}).` });
      break;
    case 'automation_warning':
      run.warnings.push({ id: event.id, type: text(payload.code) ?? event.type, message: text(payload.message) ?? 'warning' });
      break;
    case 'task_progress':
      run.progress = number(payload.progress);
      run.progressMessage = text(payload.message);
      break;
    case 'task_failed':
      if (run.status === 'running') run.status = 'failed';
      run.error = run.error ?? (typeof payload.error === 'object' && payload.error !== null ? text((payload.error as { message?: unknown }).message) : null);
      break;
    case 'task_cancelled':
      if (run.status === 'running') run.status = 'cancelled';
      break;
    case 'task_completed':
      if (run.status === 'running') run.status = 'completed';
      break;
    default:
      break;
  }
  return true;
}

/** Runs newest first. */
export function sortedRuns(runs: Map<string, GatherRun>): GatherRun[] {
  return [...runs.values()].sort((a, b) => b.lastEventId - a.lastEventId);
}
