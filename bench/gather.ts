/**
 * Automated gather benchmark: one `automated_gather_creation` run over the seven Aladdin
 * departments against a local OpenAI-compatible server (bench/fixed-latency-server.ts) that
 * answers every call (chat and embeddings) after a fixed latency L. Prints progress lines, then one JSON line last:
 *
 * {"wall_ms","iterations","llm_calls":{"generate","embed","judge","quality"},"critical_path_llm_ms",
 *  "overhead_ratio","nominal_llm_ms","overhead_ratio_nominal","items_created","latency_ms","calls_per_iteration","departments_processed"}
 *
 * - wall_ms: submit to the task's completion, as the caller sees it
 * - critical_path_llm_ms: the run's model calls are sequential, so the sum of their latencies as
 *   the gateway measured them (request sent to answer parsed, over real HTTP)
 * - overhead_ratio: (wall_ms - critical_path_llm_ms) / wall_ms; target <= 0.05
 * - overhead_ratio_nominal: the same with calls x L in place of the measured latencies, so the
 *   HTTP round trip and the AI SDK's parsing of each answer count as overhead too
 *
 * The model server runs in its own process (as a remote provider would) and sends each answer L
 * after the request arrived, whatever its own work took.
 * - judge: borderline duplicate judge calls (0 with TASKLOOM_GATHER_JUDGE off, the default);
 *   quality: the per-iteration quality scoring call
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works
 * in a fresh database it drops afterwards. Options: BENCH_LATENCY_MS (200), BENCH_MAX_ITERATIONS (50).
 */
import { automatedGatherTaskTypes } from '../src/pipelines/automated-gather/index.ts';
import { withPipelineBench } from './support/pipeline-bench.ts';
import { log } from './support/statistics.ts';

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
const maxIterations = Number(process.env.BENCH_MAX_ITERATIONS ?? 50);

async function main(): Promise<void> {
  await withPipelineBench({
    name: 'bench-gather',
    latencyMs,
    concurrency: 4,
    config: {
      llmGenerationModel: 'openai-compatible:test-chat',
      llmEmbeddingModel: 'openai-compatible:test-embed',
    },
    taskTypes: automatedGatherTaskTypes,
  }, async ({ engine, services: { pool } }) => {
    log(`latency L=${latencyMs} ms; seven departments; max_iterations=${maxIterations}`);

    const started = performance.now();
    const submitted = await engine.submit({ taskType: 'automated_gather_creation', input: { project_id: 'bench-movie', user_id: 'bench', max_iterations: maxIterations } });
    const controller = new AbortController();
    for await (const event of engine.subscribe({ taskId: submitted.task.id, signal: controller.signal })) {
      if (event.type === 'department_complete') log(`  ${String(event.payload.department_name)}: quality ${String(event.payload.quality_score)} after ${String(event.payload.iterations_used)} iterations, ${String(event.payload.items_created)} items`);
      if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) break;
    }
    controller.abort();
    const wallMs = performance.now() - started;
    const task = await engine.getTask(submitted.task.id);
    if (task.status !== 'completed') throw new Error(`the gather run ended ${task.status}: ${JSON.stringify(task.error)}`);
    const result = task.result as { iterations: number; items_created: number; departments_processed: number; status: string };

    const calls = await pool.query<{ purpose: string; step: string; latency_ms: number }>(
      'SELECT purpose, step, latency_ms FROM llm_calls WHERE task_id = $1 AND error IS NULL',
      [submitted.task.id],
    );
    const count = (predicate: (row: { purpose: string; step: string }) => boolean): number => calls.rows.filter(predicate).length;
    const llmCalls = {
      generate: count((row) => row.purpose === 'generation'),
      embed: count((row) => row.purpose === 'embedding'),
      judge: count((row) => row.purpose === 'judging' && row.step.endsWith(':save')),
      quality: count((row) => row.purpose === 'judging' && row.step.endsWith(':quality')),
    };
    const criticalPathMs = calls.rows.reduce((sum, row) => sum + row.latency_ms, 0);
    const round = (value: number): number => Math.round(value * 1000) / 1000;
    const steps = await pool.query<{ kind: string; steps: number; step_ms: number }>(
      `SELECT regexp_replace(key, '^.*:', '') AS kind, count(*)::int AS steps, sum(duration_ms)::int AS step_ms FROM task_steps WHERE task_id = $1 GROUP BY 1 ORDER BY 1`,
      [submitted.task.id],
    );
    const llmByKind = new Map<string, number>();
    for (const row of calls.rows) llmByKind.set(row.step.replace(/^.*:/, ''), (llmByKind.get(row.step.replace(/^.*:/, '')) ?? 0) + row.latency_ms);
    const times = await pool.query<{ queued_ms: number; run_ms: number }>(
      `SELECT (extract(epoch FROM started_at - created_at) * 1000)::int AS queued_ms, (extract(epoch FROM completed_at - started_at) * 1000)::int AS run_ms FROM tasks WHERE id = $1`,
      [submitted.task.id],
    );
    log(`  queued ${times.rows[0]!.queued_ms} ms, ran ${times.rows[0]!.run_ms} ms (submit to completion seen: ${Math.round(wallMs)} ms)`);
    for (const row of steps.rows) log(`  step ${row.kind}: ${row.steps} steps, ${row.step_ms} ms in steps, ${llmByKind.get(row.kind) ?? 0} ms in model calls`);
    log(`status ${result.status}: ${result.iterations} iterations, ${result.items_created} items, ${calls.rows.length} model calls in ${Math.round(wallMs)} ms`);
    process.stdout.write(`${JSON.stringify({
      wall_ms: Math.round(wallMs),
      iterations: result.iterations,
      llm_calls: llmCalls,
      critical_path_llm_ms: criticalPathMs,
      overhead_ratio: round((wallMs - criticalPathMs) / wallMs),
      nominal_llm_ms: calls.rows.length * latencyMs,
      overhead_ratio_nominal: round((wallMs - calls.rows.length * latencyMs) / wallMs),
      items_created: result.items_created,
      latency_ms: latencyMs,
      calls_per_iteration: round(calls.rows.length / Math.max(1, result.iterations)),
      departments_processed: result.departments_processed,
    })}\n`);
  });
}

await main();
