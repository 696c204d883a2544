/**
 * Smart metadata benchmark, offline (no provider): how long the offline extractive analyser takes
 * for one 4,000-character project, and how fast the nightly back-fill works through N projects
 * end to end (select, analyse, store, checkpoint) on one worker. Prints progress on stderr, then
 * one JSON line last:
 *
 * {"analyser_ms_p50","analyser_ms_p99","backfill_projects","backfill_wall_ms","backfill_projects_per_s","steps_per_project"}
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder; works in
 * a fresh database it drops afterwards. Options: BENCH_PROJECTS (500), BENCH_ANALYSES (300).
 */
import { loadConfig } from '../src/config.ts';
import { withTransaction } from '../src/db/pool.ts';
import { Engine } from '../src/engine/index.ts';
import { createLlmGateway } from '../src/llm/index.ts';
import { createLogger } from '../src/logger.ts';
import { analyseOffline, buildProjectText, smartMetadataTaskTypes } from '../src/pipelines/smart-metadata/index.ts';
import { insertProject } from '../src/pipelines/smart-metadata/projects-store.ts';
import type { ProjectCreate } from '../src/pipelines/smart-metadata/schemas.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { percentile } from './support/statistics.ts';

const projects = Number(process.env.BENCH_PROJECTS ?? 500);
const analyses = Number(process.env.BENCH_ANALYSES ?? 300);

const topics = ['neural networks', 'organic chemistry', 'linear algebra', 'Spanish grammar', 'European history', 'Python programming', 'microeconomics', 'cell biology'];
const sentences = [
  'This week covers the core ideas of {topic} with worked examples and short exercises.',
  'Students compare several approaches to {topic} and explain when each one applies.',
  'The notes on {topic} include definitions, diagrams and a summary of common mistakes.',
  'Practical sessions apply {topic} to realistic problems, with feedback after each attempt.',
  'Advanced readings on {topic} discuss open questions and recent research results.',
];

function projectBody(index: number): ProjectCreate {
  const topic = topics[index % topics.length]!;
  const text = (count: number) => Array.from({ length: count }, (_unused, position) => sentences[(index + position) % sentences.length]!.replace('{topic}', topic)).join(' ');
  return {
    name: `${topic} ${index}`,
    project_type: index % 2 === 0 ? 'self_study' : 'school',
    ...(index % 2 === 0 ? { goal_description: text(4), study_frequency: 'weekly' } : { course_name: topic, course_code: `C${index}`, teacher: 'A. Teacher' }),
    is_draft: false,
    // Four files of 1,000+ characters: the text is cut at 4,000 characters, the seed's maximum.
    files: Array.from({ length: 4 }, (_unused, file) => ({ name: `part-${file}.txt`, extracted_text: text(14) })),
    important_dates: [{ title: 'Exam', date: '2026-06-01' }],
  };
}

/** Three decimals: an analysis takes a fraction of a millisecond. */
const analyserPercentile = (values: number[], share: number): number => Math.round(percentile(values, share) * 1000) / 1000;

const timings: number[] = [];
// The first runs include V8's compilation of the analyser: warm up, then measure.
for (let index = -30; index < analyses; index += 1) {
  const body = projectBody(Math.abs(index));
  const text = buildProjectText({ ...body, course_name: body.course_name ?? null, course_code: body.course_code ?? null, teacher: body.teacher ?? null, goal_description: body.goal_description ?? null, study_frequency: body.study_frequency ?? null });
  const started = performance.now();
  analyseOffline(text);
  if (index >= 0) timings.push(performance.now() - started);
}
process.stderr.write(`analyser: ${analyses} projects, p50 ${analyserPercentile(timings, 0.5)} ms\n`);

const database = await openBenchDatabase({ name: 'smart-metadata', poolSize: 10 });
const logger = createLogger('warn');
let engine: Engine | undefined;
try {
  const config = loadConfig({ enableSti: true }, {});
  const llm = createLlmGateway({ config, pool: database.pool, logger });
  for (let index = 0; index < projects; index += 1) await withTransaction(database.pool, (transaction) => insertProject(transaction, 'default', projectBody(index)));
  await database.pool.query(`UPDATE projects SET created_at = now() - interval '2 hours'`);
  engine = await Engine.start({ url: database.url, pool: database.pool, logger, taskTypes: smartMetadataTaskTypes({ config, pool: database.pool, logger, llm }, { schedules: false }), maintenance: false });
  await engine.startWorker({ concurrency: 1, pollIntervalMs: 100 });
  process.stderr.write(`back-fill: ${projects} projects...\n`);
  const started = performance.now();
  const { task } = await engine.submit({ taskType: 'generate_missing_metadata', input: {}, tenant: 'default' });
  let finished = await engine.getTask(task.id);
  while (!['completed', 'failed', 'cancelled'].includes(finished.status)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    finished = await engine.getTask(task.id);
  }
  const wallMs = performance.now() - started;
  if (finished.status !== 'completed') throw new Error(`back-fill ${finished.status}: ${JSON.stringify(finished.error)}`);
  const steps = await database.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM task_steps WHERE task_id = $1', [task.id]);
  process.stdout.write(`${JSON.stringify({
    analyser_ms_p50: analyserPercentile(timings, 0.5),
    analyser_ms_p99: analyserPercentile(timings, 0.99),
    backfill_projects: (finished.result as { generated: number }).generated,
    backfill_wall_ms: Math.round(wallMs),
    backfill_projects_per_s: Math.round((projects / (wallMs / 1000)) * 10) / 10,
    steps_per_project: Math.round((steps.rows[0]!.count / projects) * 100) / 100,
  })}\n`);
} finally {
  await engine?.stop({ graceMs: 0 });
  await database.drop();
}
