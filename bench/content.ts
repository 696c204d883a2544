/**
 * Content pipeline benchmark: one `content_pipeline` run (a month: 3 personas, 6 topics, 6 blog
 * posts of 1,500-2,500 words, social posts on five platforms) with auto-approval, against a local
 * OpenAI-compatible server (bench/fixed-latency-server.ts, its own process) that answers every
 * call after a fixed latency L. Prints progress lines, then one JSON line last:
 *
 * {"wall_ms","llm_calls":{"dna","personas","topics","blogposts","social"},"llm_calls_total",
 *  "sum_llm_ms","critical_path_llm_ms","overhead_ratio","parallelism","latency_ms",...}
 *
 * - wall_ms: submit to the run's completion, as the caller sees it
 * - sum_llm_ms: every model call's latency added up (what a one-call-at-a-time pipeline would take)
 * - critical_path_llm_ms: the longest chain of calls that must follow one another, from the run's
 *   structure and the latencies the gateway measured: stages in sequence (dna, personas, topics,
 *   blog posts, social); within a stage the slowest branch (personas' topics, posts and platforms
 *   run in parallel); within a post the outline, then the slowest section (sections run in
 *   parallel), then any length extensions in sequence; within a platform its generations in
 *   sequence. DNA, personas and topics are steps of the run; posts and platforms its child tasks
 * - overhead_ratio: (wall_ms - critical_path_llm_ms) / wall_ms: queueing, child hand-offs,
 *   checkpoints and HTTP; the issue's target is <= 0.05
 * - parallelism: sum_llm_ms / wall_ms (how much model time ran at once)
 *
 * The figures above are the process's first run, cold: its JIT has not compiled the pipeline's
 * code yet and its pool opens connections and prepares statements as the run needs them. Then
 * BENCH_WARM_RUNS (3) more months run, each for a company of its own, as a service that has
 * been up a while runs them: `warm_runs` lists their wall, critical path and overhead ratio, and
 * `warm_overhead_ratio` is their median.
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works in
 * a fresh database it drops afterwards.
 * The company is on the free plan, whose cap of three active personas makes the month's three.
 * Options: BENCH_LATENCY_MS (500), BENCH_POSTS (6), BENCH_WARM_RUNS (3).
 */
import type { Pool } from '../src/db/pool.ts';
import type { Engine } from '../src/engine/index.ts';
import type { LlmGateway } from '../src/llm/index.ts';
import { contentTaskTypes } from '../src/pipelines/content/index.ts';
import { withPipelineBench } from './support/pipeline-bench.ts';
import { log, percentile } from './support/statistics.ts';

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 500);
const postsCount = Number(process.env.BENCH_POSTS ?? 6);
const warmRunCount = Number(process.env.BENCH_WARM_RUNS ?? 3);

interface Call {
  task_id: string;
  step: string;
  latency_ms: number;
}

interface TaskRow {
  id: string;
  task_type: string;
  parent_task_id: string | null;
}

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
const max = (values: number[]): number => values.reduce((best, value) => Math.max(best, value), 0);

/** The stage of a call content_pipeline made itself (DNA, personas and topics are steps of the run). */
function runStage(step: string): string | undefined {
  if (step === 'dna' || step === 'personas') return step;
  if (step.startsWith('topics:')) return 'topics';
  return undefined;
}

/** The critical path of one task's own calls, by what its steps may run alongside. */
function taskPath(type: string, calls: Call[]): number {
  const base = type.split('@')[0];
  if (base === 'generate_topics') return max(calls.map((call) => call.latency_ms));
  if (base === 'generate_blogpost') {
    const of = (prefix: string): number[] => calls.filter((call) => call.step.startsWith(prefix)).map((call) => call.latency_ms);
    return sum(of('outline')) + max(of('section:')) + sum(of('extend:')) + sum(of('condense'));
  }
  return sum(calls.map((call) => call.latency_ms));
}

interface MonthFigures {
  wall_ms: number;
  critical_path_llm_ms: number;
  overhead_ratio: number;
  [figure: string]: unknown;
}

async function main(): Promise<void> {
  await withPipelineBench({
    name: 'bench-content',
    latencyMs,
    concurrency: 48,
    config: {
      llmGenerationModel: 'openai-compatible:test-chat',
      llmResearchModel: 'openai-compatible:test-research',
      llmConcurrency: 128,
    },
    taskTypes: contentTaskTypes,
  }, async ({ engine, services: { pool, llm } }) => {
    log(`latency L=${latencyMs} ms; 3 personas, ${postsCount} topics and posts, five platforms, auto-approval`);
    const first = await runMonth(engine, pool, llm, { verbose: true });
    const warmRuns: MonthFigures[] = [];
    for (let index = 0; index < warmRunCount; index += 1) {
      const { wall_ms, critical_path_llm_ms, overhead_ratio } = await runMonth(engine, pool, llm, { verbose: false });
      warmRuns.push({ wall_ms, critical_path_llm_ms, overhead_ratio });
      log(`warm run ${index + 1}: wall ${wall_ms} ms, critical path ${critical_path_llm_ms} ms, overhead ratio ${overhead_ratio}`);
    }
    const warmOverhead = warmRuns.length > 0 ? percentile(warmRuns.map((run) => run.overhead_ratio), 0.5) : null;
    process.stdout.write(`${JSON.stringify({ ...first, warm_runs: warmRuns, warm_overhead_ratio: warmOverhead })}\n`);
  });
}

/** One month for a company of its own: submit, follow to completion, and the figures. */
async function runMonth(engine: Engine, pool: Pool, llm: LlmGateway, options: { verbose: boolean }): Promise<MonthFigures> {
  const company = await pool.query<{ id: string }>("INSERT INTO content_companies (tenant, name, website, plan) VALUES ('default', 'Bench Coffee Roasters', 'https://bench-coffee.example', 'free') RETURNING id");
  const companyId = company.rows[0]!.id;

  const started = performance.now();
  const submitted = await engine.submit({
    taskType: 'content_pipeline',
    input: { company_id: companyId, year: 2027, month: 3, posts_count: postsCount, auto_select_personas: true, auto_approve: true },
    projectId: companyId,
  });

  const controller = new AbortController();
  for await (const event of engine.subscribe({ taskId: submitted.task.id, signal: controller.signal })) {
    if (options.verbose && event.type === 'pipeline_stage') {
      log(`  ${Math.round(performance.now() - started)} ms: ${String(event.payload.stage)}: ${String(event.payload.message)}`);
    }
    if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) break;
  }
  controller.abort();
  const wallMs = performance.now() - started;
  const run = await engine.getTask(submitted.task.id);
  if (run.status !== 'completed') throw new Error(`the run ended ${run.status}: ${JSON.stringify(run.error)}`);
  await llm.flushUsage();

  const tasks = (await pool.query<TaskRow>('SELECT id, task_type, parent_task_id FROM tasks WHERE project_id = $1', [companyId])).rows;
  const calls = (await pool.query<Call>('SELECT task_id, step, latency_ms FROM llm_calls WHERE task_id = ANY($1::uuid[]) AND error IS NULL', [tasks.map((task) => task.id)])).rows;
  const callsOf = (taskId: string): Call[] => calls.filter((call) => call.task_id === taskId);
  const typeOf = (task: TaskRow): string => task.task_type.split('@')[0]!;
  const ofType = (type: string): TaskRow[] => tasks.filter((task) => typeOf(task) === type);
  // A stage's path: its slowest child task's, or the run's own calls of that stage (the DNA
  // and personas one call each, topics one per persona in parallel).
  const ownCalls = (stage: string): Call[] => callsOf(submitted.task.id).filter((call) => runStage(call.step) === stage);
  const stageOf = (stage: string, type: string): { path: number; calls: number } => ({
    path: Math.max(max(ofType(type).map((task) => taskPath(task.task_type, callsOf(task.id)))), taskPath(stage === 'topics' ? 'generate_topics' : type, ownCalls(stage))),
    calls: sum(ofType(type).map((task) => callsOf(task.id).length)) + ownCalls(stage).length,
  });
  const stages = {
    dna: stageOf('dna', 'generate_dna'),
    personas: stageOf('personas', 'generate_personas'),
    topics: stageOf('topics', 'generate_topics'),
    blogposts: stageOf('blogposts', 'generate_blogpost'),
    social: stageOf('social', 'generate_social'),
  };
  const stagePaths = Object.fromEntries(Object.entries(stages).map(([stage, { path }]) => [stage, path]));
  const llmCalls = Object.fromEntries(Object.entries(stages).map(([stage, { calls }]) => [stage, calls]));
  const criticalPathMs = sum(Object.values(stagePaths));
  const sumMs = sum(calls.map((call) => call.latency_ms));
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const result = run.result as { topics: number; blog_posts: number; personas: string[] };
  const social = await pool.query<{ count: number }>('SELECT count(*)::int AS count FROM content_social_posts WHERE company_id = $1', [companyId]);
  const words = await pool.query<{ words: number }>('SELECT coalesce(avg(word_count), 0)::int AS words FROM content_blog_posts WHERE company_id = $1', [companyId]);
  const timings = await pool.query<{ task_type: string; tasks: number; max_queued_ms: number; max_run_ms: number; span_ms: number }>(
    `SELECT split_part(task_type, '@', 1) AS task_type, count(*)::int AS tasks,
       max(extract(epoch FROM started_at - created_at) * 1000)::int AS max_queued_ms,
       max(extract(epoch FROM completed_at - started_at) * 1000)::int AS max_run_ms,
       (extract(epoch FROM max(completed_at) - min(created_at)) * 1000)::int AS span_ms
     FROM tasks WHERE project_id = $1 GROUP BY 1 ORDER BY min(created_at)`,
    [companyId],
  );
  if (options.verbose) {
    for (const row of timings.rows) log(`  ${row.task_type}: ${row.tasks} tasks, queued at most ${row.max_queued_ms} ms, ran at most ${row.max_run_ms} ms, first submit to last completion ${row.span_ms} ms`);
    for (const [stage, path] of Object.entries(stagePaths)) log(`  stage ${stage}: ${llmCalls[stage]} calls, critical path ${path} ms`);
    log(`${result.topics} topics, ${result.blog_posts} posts (${words.rows[0]!.words} words on average), ${social.rows[0]!.count} social posts; ${calls.length} model calls in ${Math.round(wallMs)} ms`);
  }
  return {
    wall_ms: Math.round(wallMs),
    llm_calls: llmCalls,
    llm_calls_total: calls.length,
    sum_llm_ms: sumMs,
    critical_path_llm_ms: criticalPathMs,
    critical_path_by_stage_ms: stagePaths,
    overhead_ratio: round((wallMs - criticalPathMs) / wallMs),
    parallelism: round(sumMs / wallMs),
    latency_ms: latencyMs,
    personas: result.personas.length,
    topics: result.topics,
    blog_posts: result.blog_posts,
    social_posts: social.rows[0]!.count,
    average_words: words.rows[0]!.words,
    tasks: tasks.length,
  };
}

await main();
