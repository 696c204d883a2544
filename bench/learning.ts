/**
 * Learning benchmark: one `big_learning_job` against a local OpenAI-compatible server
 * (bench/fixed-latency-server.ts, in its own process like a remote provider) that answers every
 * call after a fixed latency L, with a wall-clock budget. Prints progress lines, then one JSON line last:
 *
 * {"budget_s","latency_ms","source","proposals","words_learned","words_not_learned","words_per_minute","rounds","llm_calls":{"propose","research"},
 *  "llm_calls_per_word","research_call_ms_p50","past_deadline_ms","ended_after_deadline_ms","words_per_research_call"}
 *
 * - words_not_learned: words researched whose answer did not fit the knowledge schema (the offline
 *   model behind the server answers some entries null or too short); they stay queued
 * - words_per_minute: words learned per minute of the job's run (first start to completion)
 * - llm_calls_per_word: every model call of the job (proposals and research) per word learned
 * - past_deadline_ms: how far past its deadline the job's last step finished (the job's own clock)
 * - ended_after_deadline_ms: the task's completion time (as the engine recorded it) minus the deadline;
 *   target <= one word's latency (one research call, research_call_ms_p50)
 *
 * The fixed-latency server answers with the offline model's JSON for the request's schema: it
 * cannot propose 1,000 distinct words (it answers at most 100 items, made of the prompt's own
 * terms), so by default rounds draw their words from WordNet (TASKLOOM_LEARNING_PROPOSALS=wordnet)
 * and the model server researches them; BENCH_PROPOSALS=model has the model propose too. What is
 * measured is the pipeline around the model, not the model.
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works in
 * a fresh database it drops afterwards. Options: BENCH_BUDGET_SECONDS (60), BENCH_LATENCY_MS (200),
 * BENCH_BATCH_SIZE (10), BENCH_PROPOSALS (wordnet | model), BENCH_SOURCE (llm | wordnet: WordNet
 * offline, no model server calls).
 */
import { learningTaskTypes, type LearningResult } from '../src/pipelines/learning/index.ts';
import { withPipelineBench } from './support/pipeline-bench.ts';
import { log, percentile } from './support/statistics.ts';

const budgetSeconds = Number(process.env.BENCH_BUDGET_SECONDS ?? 60);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? 10);
const sourceKind = process.env.BENCH_SOURCE === 'wordnet' ? 'wordnet' : 'llm';
const proposals = process.env.BENCH_PROPOSALS === 'model' ? 'source' : 'wordnet';

async function main(): Promise<void> {
  await withPipelineBench({
    name: 'bench-learning',
    latencyMs,
    concurrency: 2,
    config: {
      llmResearchModel: 'openai-compatible:test-chat',
      learningSource: sourceKind,
      learningBatchSize: batchSize,
      learningProposals: proposals,
    },
    taskTypes: learningTaskTypes,
  }, async ({ engine, services: { pool } }) => {
    log(`source ${sourceKind}, proposals from ${proposals === 'source' ? 'the model' : 'WordNet'}; latency L=${latencyMs} ms; budget ${budgetSeconds} s; ${batchSize} words per research call`);

    const submitted = await engine.submit({ taskType: 'big_learning_job', input: { budget_seconds: budgetSeconds } });
    const controller = new AbortController();
    for await (const event of engine.subscribe({ taskId: submitted.task.id, signal: controller.signal })) {
      if (event.type === 'round_proposed') log(`  round ${String(event.payload.round)}: ${String(event.payload.proposed)} proposed, ${String(event.payload.distinct_words)} distinct words`);
      if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) break;
    }
    controller.abort();
    const task = await engine.getTask(submitted.task.id);
    if (task.status !== 'completed') throw new Error(`the big learning job ended ${task.status}: ${JSON.stringify(task.error)}`);
    const result = task.result as LearningResult;
    const job = await pool.query<{ deadline_at: Date }>('SELECT deadline_at FROM learning_jobs WHERE task_id = $1', [task.id]);
    const endedAfterDeadlineMs = Date.parse(task.completed_at!) - job.rows[0]!.deadline_at.getTime();
    const runMs = Date.parse(task.completed_at!) - Date.parse(task.started_at!);
    const calls = await pool.query<{ step: string; latency_ms: number }>('SELECT step, latency_ms FROM llm_calls WHERE task_id = $1 AND error IS NULL', [task.id]);
    const propose = calls.rows.filter((row) => row.step.endsWith(':propose'));
    const research = calls.rows.filter((row) => row.step.includes(':batch:'));
    const round = (value: number): number => Math.round(value * 1000) / 1000;
    // Where the time went: the steps' own durations (work + commit) against their model calls.
    const steps = await pool.query<{ kind: string; steps: number; step_ms: number }>(
      `SELECT regexp_replace(key, '^round:[0-9]+:|:[0-9]+$', '', 'g') AS kind, count(*)::int AS steps, sum(duration_ms)::int AS step_ms FROM task_steps WHERE task_id = $1 GROUP BY 1 ORDER BY 1`,
      [task.id],
    );
    for (const row of steps.rows) log(`  step ${row.kind}: ${row.steps} steps, ${row.step_ms} ms in steps`);
    log(`  model calls: ${calls.rows.reduce((sum, row) => sum + row.latency_ms, 0)} ms; run ${runMs} ms`);
    log(`learned ${result.total_tokens} words in ${result.rounds} rounds, ${calls.rows.length} model calls; ended ${endedAfterDeadlineMs} ms after the deadline`);
    process.stdout.write(`${JSON.stringify({
      budget_s: budgetSeconds,
      latency_ms: latencyMs,
      source: sourceKind,
      proposals: proposals === 'source' ? 'model' : 'wordnet',
      words_learned: result.total_tokens,
      words_not_learned: result.words_failed,
      words_per_minute: round(result.total_tokens / (runMs / 60_000)),
      rounds: result.rounds,
      llm_calls: { propose: propose.length, research: research.length },
      llm_calls_per_word: round(calls.rows.length / Math.max(1, result.total_tokens)),
      words_per_research_call: round(result.total_tokens / Math.max(1, research.length)),
      research_call_ms_p50: Math.round(percentile(research.map((row) => row.latency_ms), 0.5)),
      past_deadline_ms: result.past_deadline_ms,
      ended_after_deadline_ms: endedAfterDeadlineMs,
    })}\n`);
  });
}

await main();
