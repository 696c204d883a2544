/**
 * `taskloom content`: the content pipeline from the command line.
 *
 * - `content companies list|create --name N [--website URL] [--plan free|pro|ultimate]`
 * - `content runs start --company ID --year Y --month M [--posts N] [--auto-approve] [--auto-select] [--wait]`
 * - `content runs list --company ID`, `content runs show JOB_ID` (the run as a tree of tasks)
 * - `content approvals list [--company ID]`, `content approvals approve KIND ID`,
 *   `content approvals reject KIND ID --reason TEXT [--regenerate]` (KIND: topic, blog_post, social_post)
 *
 * Decisions made here are recorded as `cli:<user>` and wake a waiting run like the API's.
 */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { integerOption, tenantOption } from '../../cli/option-parsers.ts';
import type { Runtime } from '../../cli/runtime.ts';
import { ValidationError } from '../../errors.ts';
import { describeIssues } from '../../kit/index.ts';
import { createCompany, getCompany, listCompanies } from './companies-store.ts';
import { decisionPhaseOf } from './decision-waits.ts';
import { decide } from './gates.ts';
import { jobTree, jobView, listCompanyJobs } from './jobs.ts';
import { pendingApprovals, reviewableKinds, type ReviewableKind } from './review.ts';
import { companyCreate, jobTypes, plans, taskTypeFor, type Plan } from './schemas.ts';

function kindOf(value: string): ReviewableKind {
  if (!(reviewableKinds as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${reviewableKinds.join(', ')}`);
  return value as ReviewableKind;
}

const write = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

export function contentCommand(runtime: Runtime): Command {
  const content = new Command('content').description('Content pipeline (seed 002): companies, runs from DNA to social posts, approvals');

  const companies = content.command('companies').description('Companies whose content is generated');
  companies.command('list').description('The tenant\'s companies, one JSON line each').addOption(tenantOption()).action(async (options: { tenant: string }) => {
    const database = await runtime.openDatabase();
    for (const company of await listCompanies(database.pool, options.tenant)) write(company);
  });
  companies.command('create')
    .description('Create a company; prints it as JSON (its DNA is researched by the first run)')
    .requiredOption('--name <name>', 'company name')
    .option('--website <url>', 'company website (the research starts there)')
    .addOption(new Option('--plan <plan>', 'plan (paid plans run on ai_priority)').choices([...plans]).default('free'))
    .addOption(tenantOption())
    .action(async (options: { name: string; website?: string; plan: Plan; tenant: string }) => {
      // Checked as the API checks a new company: a blank name or a website that is no URL is the
      // user's to fix, not a constraint violation reported as an internal error, nor stored.
      const parsed = companyCreate.safeParse({ name: options.name, website: options.website ?? null, plan: options.plan });
      if (!parsed.success) {
        const issues = describeIssues(parsed.error).map((issue) => ({ ...issue, path: `--${issue.path}` }));
        throw new ValidationError(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), { issues });
      }
      const database = await runtime.openDatabase();
      write(await createCompany(database.pool, options.tenant, parsed.data));
    });

  const runs = content.command('runs').description('content_pipeline runs');
  runs.command('start')
    .description('Start a content_pipeline run for one month: DNA, personas, topics, posts, social posts')
    .requiredOption('--company <id>', 'company id')
    .requiredOption('--year <year>', 'year', integerOption(2000, 2100))
    .requiredOption('--month <month>', 'month (1-12)', integerOption(1, 12))
    .option('--posts <count>', 'topics (and posts) in the month', integerOption(1, 60), 8)
    .option('--auto-approve', 'approve every topic and post as it comes (no supervisor)')
    .option('--auto-select', 'select the first personas the plan allows (no selection gate)')
    .option('--wait', 'follow the run until it ends (or waits for a person)')
    .addOption(tenantOption())
    .action(async (options: { company: string; year: number; month: number; posts: number; autoApprove?: boolean; autoSelect?: boolean; wait?: boolean; tenant: string }) => {
      const { engine, database } = await runtime.openEngine();
      const company = await getCompany(database.pool, options.tenant, options.company);
      const { task } = await engine.submit({
        taskType: taskTypeFor(jobTypes.pipeline, company.plan),
        tenant: options.tenant,
        projectId: company.id,
        input: { company_id: company.id, year: options.year, month: options.month, posts_count: options.posts, auto_approve: options.autoApprove ?? false, auto_select_personas: options.autoSelect ?? false },
      });
      write({ job_id: task.id, status: 'queued' });
      if (!options.wait) return;
      const controller = new AbortController();
      for await (const event of engine.subscribe({ tenant: options.tenant, taskId: task.id, signal: controller.signal })) {
        if (event.type === 'pipeline_stage' || event.type === 'approval_requested') write({ type: event.type, ...event.payload });
        // It ends here when the run ends, or waits for a person's decision (not for its children):
        // the job's view says what it waits for, and `approvals` makes the decision.
        const waitsForPerson = event.type === 'task_waiting' && decisionPhaseOf(String(event.payload.key)) !== null;
        if (['task_completed', 'task_failed', 'task_cancelled'].includes(event.type) || waitsForPerson) {
          write(jobView(await engine.getTask(task.id, { tenant: options.tenant })));
          break;
        }
      }
      controller.abort();
    });
  runs.command('list').description('A company\'s jobs, newest first, one JSON line each').requiredOption('--company <id>', 'company id').addOption(tenantOption()).action(async (options: { company: string; tenant: string }) => {
    const { engine, database } = await runtime.openEngine();
    const company = await getCompany(database.pool, options.tenant, options.company);
    for (const task of await listCompanyJobs(engine, options.tenant, company.id)) write(jobView(task));
  });
  runs.command('show').description('A run as a tree of its jobs, with status and progress').argument('<job-id>', 'job id').addOption(tenantOption()).action(async (jobId: string, options: { tenant: string }) => {
    const { engine } = await runtime.openEngine();
    for (const node of await jobTree(engine, options.tenant, jobId)) {
      process.stdout.write(`${'  '.repeat(node.depth)}${node.job_type} ${node.id} ${node.status}${node.waiting ? ' (waiting)' : ''} ${node.progress}% ${node.progress_message}\n`);
    }
  });

  const approvals = content.command('approvals').description('Topics, blog posts and social posts waiting for a supervisor');
  approvals.command('list').description('What waits for a decision, oldest first, one JSON line each').option('--company <id>', 'only this company').addOption(tenantOption()).action(async (options: { company?: string; tenant: string }) => {
    const database = await runtime.openDatabase();
    // As the API's pending-approvals: a company that is not there is named, not an empty list.
    if (options.company) await getCompany(database.pool, options.tenant, options.company);
    for (const pending of await pendingApprovals(database.pool, options.tenant, options.company)) write(pending);
  });
  const decideCommand = (name: 'approve' | 'reject') => {
    const command = approvals.command(name).description(name === 'approve' ? 'Approve a topic, blog post or social post; a run waiting for it goes on' : 'Reject one with a reason, and optionally have it rewritten').argument('<kind>', reviewableKinds.join(' | '), kindOf).argument('<id>', 'row id').addOption(tenantOption());
    if (name === 'reject') command.requiredOption('--reason <text>', 'why (required; a regeneration sees it)').option('--regenerate', 'rewrite it with the reason in mind');
    command.action(async (kind: ReviewableKind, id: string, options: { tenant: string; reason?: string; regenerate?: boolean }) => {
      const { engine, services } = await runtime.openEngine();
      const { regenerationJobId } = await decide({ ...services, engine }, { tenant: options.tenant, kind, id, decision: name === 'approve' ? 'approved' : 'rejected', actor: `cli:${userInfo().username}`, reason: options.reason, regenerate: options.regenerate });
      write({ kind, id, decision: name === 'approve' ? 'approved' : 'rejected', ...(options.regenerate ? { regeneration_job_id: regenerationJobId } : {}) });
    });
  };
  decideCommand('approve');
  decideCommand('reject');
  return content;
}
