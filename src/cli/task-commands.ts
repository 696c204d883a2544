/**
 * Commands on tasks: `submit`, `status`, `tasks`, `cancel`, `watch`.
 */
import { Command, InvalidArgumentError } from 'commander';
// The engine's task store alone, not its index: reads do not load pg-boss and the worker.
import { taskStatuses, type TaskRecord, type TaskStatus } from '../engine/task-store.ts';
import { inputWithProjectId } from '../engine/project-input.ts';
import { UnknownTaskTypeError, ValidationError } from '../errors.ts';
import { submitBody, taskView } from '../api/schemas.ts';
import { integerOption, jsonOption, tenantOption } from './option-parsers.ts';
import { createProgressDisplay, isTerminalEvent } from './progress-display.ts';
import type { Runtime, TaskReader } from './runtime.ts';

function parseStatus(value: string): TaskStatus {
  if (!(taskStatuses as readonly string[]).includes(value)) throw new InvalidArgumentError(`status must be one of ${taskStatuses.join(', ')}`);
  return value as TaskStatus;
}

/** Follows a task's events until it ends; returns its final record. */
async function follow(engine: TaskReader, taskId: string, afterId = 0): Promise<TaskRecord> {
  const display = createProgressDisplay();
  const current = await engine.getTask(taskId);
  try {
    if (current.status === 'completed' || current.status === 'failed' || current.status === 'cancelled') {
      // Nothing more will come: show what is stored after `afterId` (possibly nothing, when the
      // caller has already seen the end) instead of waiting for a terminal event.
      // Page by page: a long run has more events than one read returns.
      for (let after = afterId; ;) {
        const page = await engine.readEvents({ taskId, afterId: after, limit: 500 });
        for (const event of page) display.show(event);
        if (page.length < 500) break;
        after = page.at(-1)!.id;
      }
      return current;
    }
    const controller = new AbortController();
    try {
      for await (const event of engine.subscribe({ taskId, afterId, signal: controller.signal })) {
        display.show(event);
        if (isTerminalEvent(event)) break;
      }
    } finally {
      controller.abort();
    }
  } finally {
    display.finish();
  }
  return engine.getTask(taskId);
}

function exitCodeFor(task: TaskRecord): number {
  return task.status === 'completed' ? 0 : 1;
}

function printTable(tasks: TaskRecord[]): void {
  const rows = tasks.map((task) => [task.id, task.task_type, task.status, `${task.progress}%`, task.project_id ?? '-', task.created_at]);
  const header = ['id', 'type', 'status', 'progress', 'project', 'created'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}${rows.length > 0 ? '\n' : ''}`);
}

export function taskCommands(runtime: Runtime): Command[] {
  const submit = new Command('submit')
    .description('Submit a task; with --wait, follow it to the end (progress bar on a terminal, JSON lines otherwise)')
    .argument('<type>', 'task type (see `taskloom types`)')
    .option('--data <json>', 'task input as JSON', jsonOption('--data'), {})
    .option('--project <id>', 'project id')
    .option('--idempotency-key <key>', 'submitting the same key again returns the same task (1-200 characters)', (value: string) => {
      // The API's rule: a longer key reached the database's index and came back as internal_error.
      if (!submitBody.shape.idempotency_key.safeParse(value).success) throw new InvalidArgumentError('must be 1 to 200 characters, as the API\'s idempotency_key');
      return value;
    })
    .option('--priority <n>', 'priority from -100 to 100 (higher runs first)', integerOption(-100, 100))
    .addOption(tenantOption())
    .option('--wait', 'follow the task until it completes, fails or is cancelled')
    .action(async (type: string, options: { data: unknown; project?: string; idempotencyKey?: string; priority?: number; tenant: string; wait?: boolean }) => {
      const { engine } = await runtime.openEngine();
      if (options.data === null || typeof options.data !== 'object' || Array.isArray(options.data)) {
        throw new ValidationError('--data must be a JSON object, for example --data \'{"ms":2000,"steps":4}\'');
      }
      if (!engine.registry.has(type)) throw new UnknownTaskTypeError(type, engine.registry.types());
      // --project as the API's project_id: into the input when its type has that field.
      const input = inputWithProjectId(engine.registry.get(type), options.data as Record<string, unknown>, options.project, { input: '--data project_id', project: '--project', prefix: '' });
      const { task, created } = await engine.submit({
        taskType: type,
        input,
        tenant: options.tenant,
        projectId: options.project,
        idempotencyKey: options.idempotencyKey,
        priority: options.priority,
      });
      if (!options.wait) {
        process.stdout.write(`${JSON.stringify({ task_id: task.id, status: task.status, created })}\n`);
        return;
      }
      if (!process.stdout.isTTY) process.stdout.write(`${JSON.stringify({ task_id: task.id, status: task.status, created })}\n`);
      else process.stderr.write(`task ${task.id}\n`);
      await (await import('./worker-check.ts')).warnWhenNoWorker(engine);
      const final = await follow(engine, task.id);
      if (process.stdout.isTTY) {
        process.stdout.write(`${final.status}${final.result !== null ? ` ${JSON.stringify(final.result)}` : ''}${final.error ? ` ${JSON.stringify(final.error)}` : ''}\n`);
      }
      process.exitCode = exitCodeFor(final);
    });

  // Tasks are printed as the API shows them (`task_id`, `task_data`, no internal columns), so a
  // script reads the CLI's JSON and the API's alike.
  const status = new Command('status')
    .description('Show one task as JSON, as GET /api/v1/tasks/{id} does')
    .argument('<id>', 'task id')
    .action(async (id: string) => {
      const reader = await runtime.openReader();
      process.stdout.write(`${JSON.stringify(taskView(await reader.getTask(id)), null, 2)}\n`);
    });

  const tasks = new Command('tasks')
    .description('List tasks, newest first')
    .option('--status <status>', `filter by status (${taskStatuses.join(', ')})`, parseStatus)
    .option('--type <type>', 'filter by task type')
    .option('--project <id>', 'filter by project')
    .addOption(tenantOption())
    .option('--limit <n>', 'how many (1-200)', integerOption(1, 200), 20)
    .option('--cursor <cursor>', 'the next page: a previous page\'s next_cursor')
    .option('--json', 'print JSON instead of a table, as GET /api/v1/tasks does: {tasks, next_cursor}')
    .action(async (options: { status?: TaskStatus; type?: string; project?: string; tenant: string; limit: number; cursor?: string; json?: boolean }) => {
      const database = await runtime.openDatabase({ migrate: 'if-needed' });
      const { InvalidCursorError, listTasks } = await import('../engine/task-store.ts');
      // Tasks are stored under their type's name: an alias (the seeds' names) lists its type's.
      const taskType = options.type === undefined ? undefined : (await runtime.taskTypes()).find((summary) => summary.aliases?.includes(options.type!))?.type ?? options.type;
      const page = await listTasks(database.pool, { tenant: options.tenant, status: options.status, taskType, projectId: options.project, limit: options.limit, ...(options.cursor ? { cursor: options.cursor } : {}) })
        .catch((error: unknown) => {
          if (error instanceof InvalidCursorError) throw new ValidationError(`--cursor: ${error.message}`);
          throw error;
        });
      if (options.json) process.stdout.write(`${JSON.stringify({ tasks: page.tasks.map(taskView), next_cursor: page.nextCursor }, null, 2)}\n`);
      else {
        printTable(page.tasks);
        if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
      }
    });

  const cancel = new Command('cancel')
    .description('Cancel a task (queued: at once; running: its worker stops it within a second)')
    .argument('<id>', 'task id')
    .action(async (id: string) => {
      const { engine } = await runtime.openEngine();
      process.stdout.write(`${JSON.stringify(await engine.cancel(id))}\n`);
    });

  const watch = new Command('watch')
    .description('Replay and follow a task\'s events until it ends')
    .argument('<id>', 'task id')
    .option('--after <id>', 'only events after this event id', integerOption(0), 0)
    .action(async (id: string, options: { after: number }) => {
      const final = await follow(await runtime.openReader({ follow: true }), id, options.after);
      process.exitCode = exitCodeFor(final);
    });

  const types = new Command('types')
    .description('List task types with their queues')
    .option('--json', 'print [{type, aliases, queue, description}] as JSON')
    .action(async (options: { json?: boolean }) => {
      // Validated as every command validates it (exit 2), though listing the types reads none of it.
      runtime.loadConfig();
      const definitions = await runtime.taskTypes();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(definitions.map(({ type, aliases, queue, description }) => ({ type, aliases: aliases ?? [], queue, description })), null, 2)}\n`);
        return;
      }
      for (const definition of definitions) {
        const aliases = definition.aliases?.length ? ` (also submitted as ${definition.aliases.join(', ')})` : '';
        process.stdout.write(`${definition.type.padEnd(28)} ${definition.queue.padEnd(14)} ${definition.description}${aliases}\n`);
      }
    });

  return [submit, status, tasks, cancel, watch, types];
}
