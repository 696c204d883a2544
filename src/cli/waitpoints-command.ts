/**
 * `taskloom waitpoints`: what waiting tasks wait for, and completing them from a terminal.
 *
 * - `waitpoints list [--status pending] [--task ID] [--project ID] [--tenant T] [--json]`
 * - `waitpoints complete <id> [--payload JSON] [--as NAME] [--tenant T]`: the task resumes
 */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import type { WaitpointRecord, WaitpointStatus } from '../engine/index.ts';
import { integerOption, jsonOption, tenantOption } from './option-parsers.ts';
import type { Runtime } from './runtime.ts';

const statuses: readonly WaitpointStatus[] = ['pending', 'completed', 'timed_out', 'cancelled'];

function parseStatus(value: string): WaitpointStatus {
  if (!(statuses as readonly string[]).includes(value)) throw new InvalidArgumentError(`status must be one of ${statuses.join(', ')}`);
  return value as WaitpointStatus;
}

function printTable(waitpoints: WaitpointRecord[]): void {
  const rows = waitpoints.map((waitpoint) => [waitpoint.id, waitpoint.task_id, waitpoint.key, waitpoint.kind, waitpoint.status, waitpoint.timeout_at ?? '-', waitpoint.created_at]);
  const header = ['id', 'task', 'key', 'kind', 'status', 'times out', 'created'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}${rows.length > 0 ? '\n' : ''}`);
}

export function waitpointsCommand(runtime: Runtime): Command {
  const command = new Command('waitpoints').description('What waiting tasks wait for (approvals, timers, children), and completing them');
  command.command('list')
    .description('List waitpoints, newest first')
    .option('--status <status>', `one of ${statuses.join(', ')}`, parseStatus)
    .option('--task <id>', 'waitpoints of one task')
    .option('--project <id>', 'waitpoints of one project')
    .addOption(tenantOption())
    .option('--limit <n>', 'at most this many (1-500)', integerOption(1, 500), 100)
    .option('--json', 'print JSON')
    .action(async (options: { status?: WaitpointStatus; task?: string; project?: string; tenant: string; limit: number; json?: boolean }) => {
      const { engine } = await runtime.openEngine();
      const waitpoints = await engine.listWaitpoints({ tenant: options.tenant, status: options.status, taskId: options.task, projectId: options.project, limit: options.limit });
      if (options.json) process.stdout.write(`${JSON.stringify(waitpoints, null, 2)}\n`);
      else printTable(waitpoints);
    });
  command.command('complete')
    .description('Complete a waitpoint with a payload; its task resumes')
    .argument('<id>', 'waitpoint id')
    .option('--payload <json>', 'the decision or data, as JSON (checked against the waitpoint\'s schema)', jsonOption('--payload'), null)
    .option('--as <name>', 'who decides (stored as completed_by)', `cli:${userInfo().username}`)
    .addOption(tenantOption())
    .action(async (id: string, options: { payload: unknown; as: string; tenant: string }) => {
      const { engine } = await runtime.openEngine();
      const waitpoint = await engine.completeWaitpoint({ id, tenant: options.tenant, payload: options.payload, completedBy: options.as });
      process.stdout.write(`${JSON.stringify({ id: waitpoint.id, task_id: waitpoint.task_id, status: waitpoint.status, completed_by: waitpoint.completed_by })}\n`);
    });
  return command;
}
