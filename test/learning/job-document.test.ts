import { expect, it } from 'vitest';
import type { TaskRecord } from '../../src/kit/index.ts';
import { jobDocument } from '../../src/pipelines/learning/job-document.ts';
import type { LearningJobRow } from '../../src/pipelines/learning/jobs-store.ts';

const startedAt = Date.parse('2026-12-06T10:00:00Z');
const job = {
  budget_ms: 100_000, deadline_at: new Date(startedAt + 100_000).toISOString(), planned_words: null, total_tokens: 12, words_failed: 0,
  errors: [], last_round: 2, words_proposed: 200, words_queued: 40, entries_deepened: 0,
} as unknown as LearningJobRow;
const task = (status: TaskRecord['status'], progress: number, completedAt: string | null): TaskRecord => ({
  id: '0193a9b0-0000-7000-8000-000000000001', task_type: 'big_learning_job', input: {}, status, progress, completed_at: completedAt,
  updated_at: completedAt ?? new Date(startedAt).toISOString(), created_at: new Date(startedAt).toISOString(), error: null,
} as unknown as TaskRecord);

it('shows a cancelled job where it stood when it ended, never behind what it showed while running', () => {
  // 15 % of the budget had passed; the engine's stored progress was last written at 14 %.
  const running = jobDocument(task('running', 14, null), job, startedAt + 15_000);
  expect(running.progress).toBe(15);
  const cancelledAt = new Date(startedAt + 15_500).toISOString();
  expect(jobDocument(task('cancelled', 14, cancelledAt), job, startedAt + 60_000).progress).toBe(15);
  // Read long after it ended, it does not go on counting time.
  expect(jobDocument(task('cancelled', 14, cancelledAt), job, startedAt + 90_000).progress).toBe(15);
  expect(jobDocument(task('completed', 99, cancelledAt), job).progress).toBe(100);
});
