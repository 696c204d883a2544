/**
 * `taskloom projects`: study projects and their AI metadata from the command line.
 *
 * - `projects create --name N --type self_study|school [--goal T] [--course T] ... [--file PATH]... [--date TITLE=YYYY-MM-DD]...`
 *   (or `--data JSON` with the API's body): prints the project as JSON
 * - `projects list [--limit N] [--json]`, `projects show <id>`
 * - `projects generate-metadata <id> [--force] [--wait]`: the API's rules (existing metadata needs
 *   --force; a run already active is returned)
 * - `projects backfill [--all-tenants] [--wait]`: run the nightly back-fill now
 *
 * Reads open only the database; commands that submit open an engine.
 */
import path from 'node:path';
import { Command } from 'commander';
import type { z } from 'zod';
import { readOptionFile } from '../../cli/option-files.ts';
import { integerOption, positiveIntegerOption, tenantOption } from '../../cli/option-parsers.ts';
import type { Runtime } from '../../cli/runtime.ts';
import { warnWhenNoWorker } from '../../cli/worker-check.ts';
import { unstorablePart } from '../../db/storable.ts';
import { ValidationError } from '../../errors.ts';
import { describeIssues, type Engine, type TaskRecord } from '../../kit/index.ts';
import { createProjectService } from './project-service.ts';
import { generateMissingMetadataType, projectCreate } from './schemas.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

async function waitForTask(engine: Engine, taskId: string): Promise<TaskRecord> {
  const controller = new AbortController();
  try {
    for await (const event of engine.subscribe({ taskId, signal: controller.signal })) {
      if (event.type === 'task_progress' && process.stdout.isTTY) process.stdout.write(`${(event.payload as { message?: string }).message ?? ''}\n`);
      if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type)) break;
    }
  } finally {
    controller.abort();
  }
  return engine.getTask(taskId);
}

function printFinished(task: TaskRecord): void {
  process.stdout.write(`${JSON.stringify({ task_id: task.id, status: task.status, result: task.result, error: task.error })}\n`);
  process.exitCode = task.status === 'completed' ? 0 : 1;
}

interface CreateOptions {
  data?: string;
  name?: string;
  type?: string;
  goal?: string;
  frequency?: string;
  course?: string;
  courseCode?: string;
  teacher?: string;
  draft?: boolean;
  file: string[];
  date: string[];
  tenant: string;
}

async function createBody(options: CreateOptions): Promise<unknown> {
  if (options.data) {
    try {
      return JSON.parse(options.data);
    } catch (error) {
      throw new ValidationError(`--data is not JSON: ${(error as Error).message}`);
    }
  }
  const files = await Promise.all(options.file.map(async (file) => {
    const text = await readOptionFile('--file', file);
    // A binary file (a PDF, say) read as text: refused here with its name, not by the database.
    if (text.includes('\u0000')) throw new ValidationError(`--file ${file}: not a text file (it contains NUL characters); give its extracted text as a .txt file.`);
    return { name: path.basename(file), extracted_text: text };
  }));
  const dates = options.date.map((entry) => {
    const separator = entry.lastIndexOf('=');
    if (separator <= 0) throw new ValidationError(`--date ${JSON.stringify(entry)}: expected TITLE=YYYY-MM-DD`);
    return { title: entry.slice(0, separator), date: entry.slice(separator + 1) };
  });
  return {
    name: options.name,
    project_type: options.type,
    ...(options.goal === undefined ? {} : { goal_description: options.goal }),
    ...(options.frequency === undefined ? {} : { study_frequency: options.frequency }),
    ...(options.course === undefined ? {} : { course_name: options.course }),
    ...(options.courseCode === undefined ? {} : { course_code: options.courseCode }),
    ...(options.teacher === undefined ? {} : { teacher: options.teacher }),
    is_draft: options.draft === true,
    files,
    important_dates: dates,
  };
}

/**
 * A project body from the command line (`--data`, or built from the options and `--file`s), as
 * the API takes one: first refused when PostgreSQL could not store it (a NUL character or a lone
 * surrogate in any string: the API's own check, `unstorablePart`, which would otherwise surface
 * as the database's "invalid byte sequence" internal error), then checked against `schema`.
 * Either error names the field.
 */
function parseProject<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  const unstorable = unstorablePart(body);
  if (unstorable) throw new ValidationError(`Invalid project: ${unstorable.path}: ${unstorable.message}`, { issues: [unstorable] });
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ValidationError(`Invalid project: ${describeIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}

export function projectsCommand(runtime: Runtime): Command {
  const projects = new Command('projects').description('Study projects and their AI metadata (tags, summary, difficulty)');

  projects.command('create')
    .description('Create a project; prints it as JSON')
    .option('--data <json>', 'the API\'s POST /api/projects body (instead of the options below)')
    .option('--name <name>', 'project name')
    .option('--type <type>', 'self_study or school')
    .option('--goal <text>', 'goal description (self-study)')
    .option('--frequency <text>', 'study frequency (self-study)')
    .option('--course <name>', 'course name (school)')
    .option('--course-code <code>', 'course code (school)')
    .option('--teacher <name>', 'teacher (school)')
    .option('--draft', 'create it as a draft')
    .option('--file <path>', 'a text file of the project (repeatable); its text is the file\'s extracted text', collect, [])
    .option('--date <title=YYYY-MM-DD>', 'an important date (repeatable)', collect, [])
    .addOption(tenantOption())
    .action(async (options: CreateOptions) => {
      const project = parseProject(projectCreate, await createBody(options));
      const database = await runtime.openDatabase();
      const service = createProjectService({ config: runtime.loadConfig(), pool: database.pool, logger: runtime.logger });
      process.stdout.write(`${JSON.stringify(await service.createProject(options.tenant, project), null, 2)}\n`);
    });

  projects.command('list')
    .description('List projects, newest first, with their tags')
    .option('--limit <n>', 'projects to show', positiveIntegerOption, 50)
    .addOption(tenantOption())
    .option('--json', 'one JSON object per line')
    .action(async (options: { limit: number; tenant: string; json?: boolean }) => {
      const database = await runtime.openDatabase();
      const service = createProjectService({ config: runtime.loadConfig(), pool: database.pool, logger: runtime.logger });
      const page = await service.listProjects(options.tenant, { limit: options.limit });
      for (const project of page.projects) {
        process.stdout.write(options.json
          ? `${JSON.stringify(project)}\n`
          : `${project.id}  ${project.project_type.padEnd(10)} ${project.is_draft ? 'draft ' : ''}${project.name}${project.ai_generated_tags ? `  [${project.ai_generated_tags.join(', ')}] ${project.difficulty_level}` : '  (no metadata)'}\n`);
      }
      if (!options.json) process.stdout.write(`${page.projects.length} projects${page.nextCursor ? ' (more: raise --limit)' : ''}\n`);
    });

  projects.command('show <id>')
    .description('One project with all its meta keys and the flattened AI fields, as JSON')
    .addOption(tenantOption())
    .action(async (id: string, options: { tenant: string }) => {
      const database = await runtime.openDatabase();
      const service = createProjectService({ config: runtime.loadConfig(), pool: database.pool, logger: runtime.logger });
      process.stdout.write(`${JSON.stringify(await service.readProject(options.tenant, id), null, 2)}\n`);
    });

  projects.command('generate-metadata <id>')
    .description('Generate a project\'s AI metadata (existing metadata needs --force); --wait follows the task')
    .option('--force', 'regenerate even when the project has metadata')
    .option('--wait', 'wait for the task; exit code 0 only when it completed')
    .addOption(tenantOption())
    .action(async (id: string, options: { force?: boolean; wait?: boolean; tenant: string }) => {
      const { engine, database } = await runtime.openEngine();
      const service = createProjectService({ config: runtime.loadConfig(), pool: database.pool, logger: runtime.logger, engine });
      const outcome = await service.requestGeneration(options.tenant, id, { force: options.force === true, trigger: 'cli' });
      if (outcome.kind === 'exists') {
        process.stdout.write(`${JSON.stringify({ message: 'Metadata already exists. Use --force to regenerate.', project_id: id, existing_metadata: true })}\n`);
        return;
      }
      process.stdout.write(`${JSON.stringify({ task_id: outcome.taskId, project_id: id, force_regenerate: outcome.forceRegenerate, already_running: outcome.kind === 'already_running' })}\n`);
      if (!options.wait) return;
      await warnWhenNoWorker(engine);
      printFinished(await waitForTask(engine, outcome.taskId));
    });

  projects.command('backfill')
    .description('Run the nightly back-fill now: metadata for every non-draft project older than an hour without it (or, for a tenant that regenerates on change, with metadata of older content)')
    .option('--all-tenants', 'every tenant\'s projects (operator tenant "default" only)')
    .option('--min-age-minutes <n>', 'only projects older than this', integerOption(0), 60)
    .option('--wait', 'wait for the run; exit code 0 only when it completed')
    .addOption(tenantOption())
    .action(async (options: { allTenants?: boolean; minAgeMinutes: number; wait?: boolean; tenant: string }) => {
      const { engine } = await runtime.openEngine();
      const { task } = await engine.submit({ taskType: generateMissingMetadataType, tenant: options.tenant, input: { all_tenants: options.allTenants === true, min_age_minutes: options.minAgeMinutes } });
      process.stdout.write(`${JSON.stringify({ task_id: task.id, status: task.status })}\n`);
      if (!options.wait) return;
      await warnWhenNoWorker(engine);
      printFinished(await waitForTask(engine, task.id));
    });

  return projects;
}
