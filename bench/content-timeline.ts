/**
 * Where a content_pipeline run's overhead goes: bench:content's run (same set-up, same model
 * server) with every handler, step, model call, progress write and child submit timed in the
 * process, joined with the tasks' own timestamps. A profiling aid beside bench:content, not a
 * benchmark of its own: the instrumentation costs a little time itself.
 *
 * For each stage, from the previous stage's last model answer (the run's submit for the first) to
 * its own last answer: the span, the stage's critical path (as bench:content counts it), the
 * overhead between them, how long after the previous answer the stage's first call went out, and
 * how far apart its branches' first calls were. Then the hand-off into the social stage step by
 * step (the last blog post's end, the run's wake-up, the slowest social post), the checkpoint and
 * progress commits of the fan-out stages, event-loop stalls over 8 ms, and the moments the pool had
 * callers waiting. The last line is JSON: the per-stage overheads (medians over the runs).
 *
 * Options: BENCH_LATENCY_MS (500); RUNS (1): runs one after another in one process, the first cold
 * (as bench:content's only run is), the later ones warm; details are printed for the last run.
 * PAUSE_MS (0): idle time before each later run (past the pool's idle timeout, its connections and
 * the statements prepared on them are gone, as in a service between two runs).
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres RUNS=5 node bench/content-timeline.ts
 */
import type { AnyTaskDefinition, Engine, TaskContext } from '../src/engine/index.ts';
import type { Pool } from '../src/db/pool.ts';
import { contentTaskTypes } from '../src/pipelines/content/index.ts';
import { withPipelineBench } from './support/pipeline-bench.ts';

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 500);
const runs = Number(process.env.RUNS ?? 1);
const pauseMs = Number(process.env.PAUSE_MS ?? 0);
const now = (): number => performance.timeOrigin + performance.now();

interface Mark {
  taskId: string;
  kind: 'handler' | 'step' | 'step-work' | 'step-replayed' | 'progress' | 'submit' | 'wait' | 'llm' | 'usage';
  label: string;
  start: number;
  end?: number;
}

const marks: Mark[] = [];

async function timed<Result>(taskId: string, kind: Mark['kind'], label: string, work: () => Promise<Result>): Promise<Result> {
  const entry: Mark = { taskId, kind, label, start: now() };
  marks.push(entry);
  try {
    return await work();
  } finally {
    entry.end = now();
  }
}

/** The task types with every context call a handler makes timed. */
function instrument(definitions: AnyTaskDefinition[]): AnyTaskDefinition[] {
  return definitions.map((definition) => ({
    ...definition,
    run: (context: TaskContext<unknown>) => timed(context.taskId, 'handler', `${definition.type} attempt ${context.attempt}`, () => {
      const id = context.taskId;
      const watched: TaskContext<unknown> = Object.create(context);
      Object.assign(watched, {
        step: async (key: string, run: (scope: unknown) => Promise<unknown>, options?: unknown) => {
          let worked = false;
          const entry: Mark = { taskId: id, kind: 'step', label: key, start: now() };
          marks.push(entry);
          const result = await context.step(key, (scope) => {
            worked = true;
            return timed(id, 'step-work', key, () => run(scope));
          }, options as never);
          entry.end = now();
          if (!worked) entry.kind = 'step-replayed';
          return result;
        },
        progress: (percent: number, message?: string) => timed(id, 'progress', String(percent), () => context.progress(percent, message)),
        submitChild: (...args: Parameters<typeof context.submitChild>) => timed(id, 'submit', args[0], () => context.submitChild(...args)),
        waitForChildren: (...args: Parameters<typeof context.waitForChildren>) => timed(id, 'wait', args[0], () => context.waitForChildren(...args)),
        submitAndWait: (...args: Parameters<typeof context.submitAndWait>) => timed(id, 'wait', args[0], () => context.submitAndWait(...args)),
        waitFor: (...args: Parameters<typeof context.waitFor>) => timed(id, 'wait', args[0], () => context.waitFor(...args)),
      });
      return definition.run(watched);
    }),
  }));
}

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
const max = (values: number[]): number => values.reduce((best, value) => Math.max(best, value), 0);
const min = (values: number[]): number => values.reduce((best, value) => Math.min(best, value), Infinity);
const median = (values: number[]): number => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)] ?? 0;
const latency = (call: Mark): number => (call.end ?? 0) - call.start;

/** A branch's critical path, as bench:content counts it. */
function pathOf(type: string, calls: Mark[]): number {
  if (type === 'generate_topics') return max(calls.map(latency));
  if (type === 'generate_blogpost') {
    const of = (prefix: string): number[] => calls.filter((call) => call.label.startsWith(prefix)).map(latency);
    return sum(of('outline')) + max(of('section:')) + sum(of('extend:')) + sum(of('condense'));
  }
  return sum(calls.map(latency));
}

/** Stages in order: their child task type, and which of the run's own calls belong to them. */
const stages: Array<{ name: string; type: string; ownStep: (step: string) => boolean }> = [
  { name: 'dna', type: 'generate_dna', ownStep: (step) => step === 'dna' },
  { name: 'personas', type: 'generate_personas', ownStep: (step) => step === 'personas' },
  { name: 'topics', type: 'generate_topics', ownStep: (step) => step.startsWith('topics:') },
  { name: 'blogposts', type: 'generate_blogpost', ownStep: () => false },
  { name: 'social', type: 'generate_social', ownStep: () => false },
];

interface TaskRow {
  id: string;
  task_type: string;
  parent_task_id: string | null;
  created: number;
  started: number;
  completed: number;
}

async function runOnce(engine: Engine, pool: Pool, verbose: boolean): Promise<Record<string, number>> {
  const print = (line: string): void => {
    if (verbose) console.log(line);
  };
  const company = await pool.query<{ id: string }>("INSERT INTO content_companies (tenant, name, website, plan) VALUES ('default', 'Bench Coffee Roasters', 'https://bench-coffee.example', 'free') RETURNING id");
  const companyId = company.rows[0]!.id;

  // The event loop: a 5 ms timer's lateness over 8 ms is a stall. The pool: callers waiting.
  const stalls: Array<{ at: number; lateMs: number }> = [];
  let expected = now() + 5;
  const stallTimer = setInterval(() => {
    const at = now();
    if (at - expected > 8) stalls.push({ at: expected, lateMs: at - expected });
    expected = at + 5;
  }, 5);
  const poolSamples: Array<{ at: number; waiting: number }> = [];
  const poolTimer = setInterval(() => poolSamples.push({ at: now(), waiting: pool.waitingCount }), 2);

  const started = now();
  const submitted = await engine.submit({ taskType: 'content_pipeline', input: { company_id: companyId, year: 2027, month: 3, posts_count: 6, auto_select_personas: true, auto_approve: true }, projectId: companyId });
  const controller = new AbortController();
  for await (const event of engine.subscribe({ taskId: submitted.task.id, signal: controller.signal })) {
    if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) break;
  }
  controller.abort();
  const wall = now() - started;
  clearInterval(stallTimer);
  clearInterval(poolTimer);

  const tasks = (await pool.query<TaskRow>(
    `SELECT id, split_part(task_type, '@', 1) AS task_type, parent_task_id, extract(epoch FROM created_at) * 1000 AS created,
       extract(epoch FROM started_at) * 1000 AS started, extract(epoch FROM completed_at) * 1000 AS completed
     FROM tasks WHERE project_id = $1 ORDER BY created_at`, [companyId])).rows;
  const runId = submitted.task.id;
  const at = (value: number | undefined): string => (value === undefined ? '-' : (value - started).toFixed(0));
  const marksOf = (taskId: string): Mark[] => marks.filter((entry) => entry.taskId === taskId);
  const callsOf = (taskId: string): Mark[] => marksOf(taskId).filter((entry) => entry.kind === 'llm');
  const describe = (entries: Mark[]): string => entries.filter((entry) => entry.kind !== 'step-replayed' && entry.kind !== 'submit').map((entry) => `${entry.kind} ${entry.label} ${at(entry.start)}-${at(entry.end)}`).join('; ');

  const summary: Record<string, number> = {};
  let totalPath = 0;
  let begin = started;
  for (const stage of stages) {
    const branches = [...tasks.filter((task) => task.task_type === stage.type).map((task) => callsOf(task.id)), callsOf(runId).filter((call) => stage.ownStep(call.label))].filter((calls) => calls.length > 0);
    const path = max(branches.map((calls) => pathOf(stage.type, calls)));
    const end = max(branches.flat().map((call) => call.end ?? 0));
    const firstCalls = branches.map((calls) => min(calls.map((call) => call.start)));
    totalPath += path;
    summary[stage.name] = Math.round(end - begin - path);
    print(`stage ${stage.name}: span ${(end - begin).toFixed(0)} ms, critical path ${path.toFixed(0)} ms, overhead ${(end - begin - path).toFixed(0)} ms; first call ${(min(firstCalls) - begin).toFixed(0)} ms after the previous stage's last answer, branches' first calls ${(max(firstCalls) - min(firstCalls)).toFixed(0)} ms apart`);
    begin = end;
  }
  summary.finish = Math.round(started + wall - begin);
  summary.overhead = Math.round(wall - totalPath);
  summary.wall = Math.round(wall);
  summary.overhead_ratio = Math.round(((wall - totalPath) / wall) * 1000) / 1000;
  print(`wall ${wall.toFixed(0)} ms, critical path ${totalPath.toFixed(0)} ms, overhead ${summary.overhead} ms (ratio ${summary.overhead_ratio}); last answer to the run's end ${summary.finish} ms`);

  if (verbose) {
    // Into the social stage: the blog post that finished last, the run's wake-up, the slowest social post.
    const lastOf = (type: string): TaskRow => tasks.filter((task) => task.task_type === type).reduce((best, task) => (task.completed > best.completed ? task : best));
    const post = lastOf('generate_blogpost');
    const social = lastOf('generate_social');
    const postAnswer = max(callsOf(post.id).map((call) => call.end ?? 0));
    const run = tasks.find((task) => task.id === runId)!;
    const firstCall = callsOf(runId)[0];
    print(`run's start: created ${at(run.created)}, claimed ${at(run.started)}; ${describe(marksOf(runId).filter((entry) => entry.start <= (firstCall?.start ?? 0)))}`);
    const wakeUp = marksOf(runId).find((entry) => entry.kind === 'handler' && entry.start > postAnswer);
    print(`last blog post: created ${at(post.created)}, claimed ${at(post.started)}; ${describe(marksOf(post.id).filter((entry) => !entry.label.startsWith('section:')))}; sections' answers end ${at(postAnswer)}; completed ${at(post.completed)}`);
    print(`run's wake-up: ${wakeUp ? describe(marksOf(runId).filter((entry) => entry.start >= wakeUp.start && entry.start < postAnswer + 1000)) : 'none'}`);
    print(`slowest social post: created ${at(social.created)}, claimed ${at(social.started)}; ${describe(marksOf(social.id))}; completed ${at(social.completed)}`);
    for (const type of ['generate_blogpost', 'generate_social']) {
      const ids = new Set(tasks.filter((task) => task.task_type === type).map((task) => task.id));
      const own = marks.filter((entry) => ids.has(entry.taskId));
      const commits = own.filter((entry) => entry.kind === 'step').map((step) => (step.end ?? 0) - (own.find((work) => work.kind === 'step-work' && work.taskId === step.taskId && work.label === step.label)?.end ?? step.start));
      const progress = own.filter((entry) => entry.kind === 'progress').map(latency);
      const all = [...commits, ...progress].sort((left, right) => left - right);
      const quantile = (q: number): number => all[Math.min(all.length - 1, Math.floor(q * all.length))] ?? 0;
      print(`${type}: ${commits.length} checkpoints and ${progress.length} progress writes, each committed p50 ${quantile(0.5).toFixed(0)} ms, p90 ${quantile(0.9).toFixed(0)} ms, max ${quantile(1).toFixed(0)} ms after its work`);
    }
    print(`event-loop stalls over 8 ms: ${stalls.length}, ${sum(stalls.map((stall) => stall.lateMs)).toFixed(0)} ms in all (${stalls.map((stall) => `${at(stall.at)}+${stall.lateMs.toFixed(0)}`).join(' ')})`);
    const waited = [];
    for (let from = 0; from < wall; from += 50) {
      const most = max(poolSamples.filter((sample) => sample.at - started >= from && sample.at - started < from + 50).map((sample) => sample.waiting));
      if (most > 0) waited.push(`${from}: ${most}`);
    }
    print(`pool callers waiting, most in each 50 ms from: ${waited.join(', ') || 'never'}`);
  }
  return summary;
}

await withPipelineBench({
  name: 'bench-content-timeline',
  latencyMs,
  concurrency: 48,
  config: { llmGenerationModel: 'openai-compatible:test-chat', llmResearchModel: 'openai-compatible:test-research', llmConcurrency: 128 },
  taskTypes: (services) => {
    const { llm } = services;
    services.llm = {
      ...llm,
      generateStructured: (request) => timed(request.context?.taskId ?? '', 'llm', request.context?.step ?? '', () => llm.generateStructured(request)),
      usageForTask: (taskId) => timed(taskId, 'usage', 'usage', () => llm.usageForTask(taskId)),
    };
    return instrument(contentTaskTypes(services));
  },
}, async ({ engine, services: { pool } }) => {
  const summaries: Array<Record<string, number>> = [];
  for (let index = 0; index < runs; index += 1) {
    if (index > 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const summary = await runOnce(engine, pool, index === runs - 1);
    summaries.push(summary);
    if (runs > 1) console.log(`run ${index + 1}: ${JSON.stringify(summary)}`);
  }
  process.stdout.write(`${JSON.stringify({ runs, ...Object.fromEntries(Object.keys(summaries[0]!).map((key) => [key, median(summaries.map((summary) => summary[key]!))])) })}\n`);
});
