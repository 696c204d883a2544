/**
 * `taskloom gather`: the automated gather pipeline from the command line (the pipeline's `cli`).
 *
 * - `gather start --project ID [--wait]`: submit a run; with --wait, one line per department
 *   event on a terminal (JSON lines otherwise), then the result; exit 0 when it completed
 * - `gather items --project ID [--department SLUG]`: the project's gather items
 * - `gather departments --project ID [--set FILE]`: the departments a run uses; --set replaces
 *   the project's list from a JSON file (`{"departments": [...]}` or an array)
 * - `gather evaluations --project ID`: stored department evaluations
 */
import { Command } from 'commander';
import type { Engine, TaskEvent, TaskRecord } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { createDepartmentSource, listTableDepartments, replaceProjectDepartments, unusableModels } from './departments.ts';
import { listEvaluations } from './evaluations-store.ts';
import { listItems } from './items-store.ts';
import { departmentsUpdate, gatherTaskType } from './schemas.ts';
import { createPayloadClient } from '../../integrations/payload.ts';
import { readOptionFile } from '../../cli/option-files.ts';
import { positiveIntegerOption, tenantOption } from '../../cli/option-parsers.ts';
import type { Runtime } from '../../cli/runtime.ts';
import { warnWhenNoWorker } from '../../cli/worker-check.ts';
import { unstorablePart } from '../../db/storable.ts';

const terminal = new Set(['task_completed', 'task_failed', 'task_cancelled']);

/** One readable line per pipeline event worth showing; undefined for the rest. */
export function describeGatherEvent(event: TaskEvent): string | undefined {
  const payload = event.payload as Record<string, any>;
  switch (event.type) {
    case 'automation_started':
      return `started: ${payload.departments_count} departments (${(payload.departments ?? []).join(', ')}), budget ${payload.max_iterations} iterations`;
    case 'department_started':
      return `${payload.department_name}: started (threshold ${payload.threshold}, model ${payload.model})`;
    case 'iteration_complete':
      return `${payload.department_name}: iteration ${payload.iteration} quality ${payload.quality_score}/${payload.threshold}, +${payload.items_created} items (${payload.duplicates_removed ?? 0} duplicates dropped) [${payload.total_iterations}/${payload.max_iterations}]`;
    case 'quality_stagnant':
      return `${payload.department_name}: quality stagnant at ${payload.best_quality_score} for ${payload.iterations_without_improvement} iterations; ${payload.on_stagnation === 'next_department' ? 'moving on to the next department' : 'going on (on_stagnation: continue)'}`;
    case 'max_iterations_reached':
      return `budget of ${payload.max_iterations} iterations used up in ${payload.department_name}`;
    case 'department_complete':
      return `${payload.department_name}: done, quality ${payload.quality_score} after ${payload.iterations_used} iterations, ${payload.items_created} items${payload.threshold_reached ? '' : ' (threshold not reached)'}`;
    case 'automation_warning':
      return `warning: ${payload.message}`;
    case 'automation_error':
      return `error: ${payload.error}${payload.will_retry ? ' (retrying)' : ''}`;
    case 'automation_timeout':
      return `soft timeout: stopped with ${payload.items_created} items`;
    case 'automation_cancelled':
      return `cancelled: ${payload.items_created_so_far} items kept`;
    case 'automation_complete':
      return `complete: ${payload.items_created} items in ${payload.departments_processed} departments, ${payload.total_iterations} iterations`;
    default:
      return undefined;
  }
}

async function follow(engine: Engine, taskId: string): Promise<TaskRecord> {
  const controller = new AbortController();
  const tty = process.stdout.isTTY === true;
  try {
    for await (const event of engine.subscribe({ taskId, signal: controller.signal })) {
      if (tty) {
        const line = describeGatherEvent(event);
        if (line) process.stdout.write(`${line}\n`);
      } else if (!event.type.startsWith('task_') || terminal.has(event.type)) {
        process.stdout.write(`${JSON.stringify(event)}\n`);
      }
      if (terminal.has(event.type)) break;
    }
  } finally {
    controller.abort();
  }
  return engine.getTask(taskId);
}

/**
 * The departments in a `--set` file, as `PUT /departments` takes them. A NUL character or a lone
 * surrogate in a string is refused here, naming the field, as the API refuses it: PostgreSQL
 * cannot store it, and its refusal surfaced as an internal error.
 */
async function readDepartmentsFile(file: string): Promise<unknown> {
  const text = await readOptionFile('--set', file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`--set ${file} is not JSON: ${(error as Error).message}`);
  }
  const body = Array.isArray(value) ? { departments: value } : value;
  const unstorable = unstorablePart(body);
  if (unstorable) throw new ValidationError(`--set ${file}: ${unstorable.path}: ${unstorable.message}`, { issues: [unstorable] });
  return body;
}

export function gatherCommand(runtime: Runtime): Command {
  const gather = new Command('gather').description('Automated gather: generate, de-duplicate and score gather items per department');

  gather.command('start')
    .description('Start an automated gather for a project; with --wait, follow it department by department')
    .requiredOption('--project <id>', 'project id')
    .option('--user <id>', 'user recorded as createdBy on the items')
    .option('--max-iterations <n>', 'iterations for the whole run', positiveIntegerOption, 50)
    .option('--no-evaluation', 'do not submit evaluate_department after each department')
    .addOption(tenantOption())
    .option('--wait', 'follow the run until it ends; exit code 0 only when it completed')
    .action(async (options: { project: string; user?: string; maxIterations: number; evaluation: boolean; tenant: string; wait?: boolean }) => {
      const { engine } = await runtime.openEngine();
      const { task } = await engine.submit({
        taskType: gatherTaskType,
        tenant: options.tenant,
        input: {
          project_id: options.project,
          max_iterations: options.maxIterations,
          enable_auto_evaluation: options.evaluation,
          ...(options.user ? { user_id: options.user } : {}),
        },
      });
      process.stdout.write(`${JSON.stringify({ task_id: task.id, status: task.status })}\n`);
      if (!options.wait) return;
      await warnWhenNoWorker(engine);
      const finished = await follow(engine, task.id);
      process.stdout.write(`${JSON.stringify({ task_id: finished.id, status: finished.status, result: finished.result, error: finished.error })}\n`);
      // A run stopped at its soft timeout completes with `status: "timeout"`: not a success to a script.
      const result = finished.result as { status?: string } | null;
      process.exitCode = finished.status === 'completed' && result?.status !== 'timeout' ? 0 : 1;
    });

  gather.command('items')
    .description('List a project\'s gather items (oldest first)')
    .requiredOption('--project <id>', 'project id')
    .option('--department <slug>', 'only this department')
    .option('--limit <n>', 'items to show', positiveIntegerOption, 100)
    .addOption(tenantOption())
    .option('--json', 'one JSON object per line')
    .action(async (options: { project: string; department?: string; limit: number; tenant: string; json?: boolean }) => {
      const database = await runtime.openDatabase();
      const page = await listItems(database.pool, { tenant: options.tenant, projectId: options.project, limit: options.limit, ...(options.department ? { department: options.department } : {}) });
      for (const item of page.items) {
        process.stdout.write(options.json ? `${JSON.stringify(item)}\n` : `${item.department.padEnd(14)} ${item.createdAt}  ${item.summary}\n`);
      }
      if (!options.json) process.stdout.write(`${page.items.length} items${page.nextCursor ? ' (more: raise --limit)' : ''}\n`);
    });

  gather.command('departments')
    .description('Show the departments a gather of the project uses; --set replaces the project\'s list')
    .requiredOption('--project <id>', 'project id')
    .option('--set <file>', 'JSON file: {"departments": [...]} or an array of departments')
    .addOption(tenantOption())
    .action(async (options: { project: string; set?: string; tenant: string }) => {
      const config = runtime.loadConfig();
      const database = await runtime.openDatabase();
      if (config.payloadApiUrl) {
        if (options.set) throw new ValidationError('Departments come from Payload CMS (PAYLOAD_API_URL is set); edit them there.');
        const source = createDepartmentSource({ pool: database.pool, payload: createPayloadClient({ baseUrl: config.payloadApiUrl, apiKey: config.payloadApiKey }) });
        process.stdout.write(`${JSON.stringify({ source: 'payload', departments: await source.gatherDepartments(options.tenant, options.project) }, null, 2)}\n`);
        return;
      }
      if (options.set) {
        const parsed = departmentsUpdate.safeParse(await readDepartmentsFile(options.set));
        if (!parsed.success) throw new ValidationError(`--set ${options.set}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
        // As `PUT /departments` does: a model no provider here can serve is refused now, not when a run starts.
        const { createLlmGateway } = await import('../../llm/index.ts');
        const unusable = unusableModels(createLlmGateway({ config, pool: database.pool, logger: runtime.logger }), parsed.data.departments);
        if (unusable.length > 0) throw new ValidationError(`--set ${options.set}: ${unusable.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
        const departments = await replaceProjectDepartments(database.pool, options.tenant, options.project, parsed.data);
        process.stdout.write(`${JSON.stringify({ source: 'project', departments }, null, 2)}\n`);
        return;
      }
      const { departments, scope } = await listTableDepartments(database.pool, options.tenant, options.project);
      process.stdout.write(`${JSON.stringify({ source: scope, departments }, null, 2)}\n`);
    });

  gather.command('evaluations')
    .description('List a project\'s department evaluations (newest first)')
    .requiredOption('--project <id>', 'project id')
    .option('--department <slug>', 'only this department')
    .addOption(tenantOption())
    .action(async (options: { project: string; department?: string; tenant: string }) => {
      const database = await runtime.openDatabase();
      const evaluations = await listEvaluations(database.pool, { tenant: options.tenant, projectId: options.project, limit: 100, ...(options.department ? { department: options.department } : {}) });
      for (const evaluation of evaluations) process.stdout.write(`${JSON.stringify(evaluation)}\n`);
    });

  return gather;
}
