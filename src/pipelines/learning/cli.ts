/**
 * `taskloom learning`: the learning pipeline from the command line.
 *
 * - `learning start --mode quick|deep [--wait]`: start a learning job (quick runs are throttled
 *   per tenant like the API's)
 * - `learning start-big [--budget SECONDS] [--words-per-round N] [--wait]`: start a big job
 * - `learning status JOB_ID`: the job document as JSON
 * - `learning knowledge [WORD] [--search S] [--category C] [--limit N] [--json]`: the knowledge base
 *
 * `--wait` prints the job document's changes once a second (one line each on a terminal, JSON
 * lines otherwise) and exits 0 only when the job completed.
 */
import { Command, Option } from 'commander';
import { positiveIntegerOption, tenantOption } from '../../cli/option-parsers.ts';
import type { Runtime } from '../../cli/runtime.ts';
import { warnWhenNoWorker } from '../../cli/worker-check.ts';
import { NotFoundError } from '../../errors.ts';
import { getKnowledge, listKnowledge } from './knowledge-store.ts';
import { normaliseWord } from './normalise.ts';
import type { JobDocument } from './schemas.ts';
import { readJobDocument, startBigLearningJob, startLearningJob, type JobStarter } from './start-job.ts';

const finished = new Set(['completed', 'failed', 'cancelled']);

export function describeJob(document: JobDocument): string {
  const errors = document.errors.length > 0 ? `, last error: ${document.errors.at(-1)?.message}` : '';
  return `${document.status.padEnd(9)} ${String(document.progress).padStart(3)}%  ${document.total_tokens} words learned, round ${document.last_round}, ${document.words_queued} queued${errors}`;
}

/**
 * Opens the engine, starts a job with `start`, prints `{job_id}`, and with `wait` follows the job
 * document once a second (a line per change on a terminal, JSON lines otherwise); the exit code
 * is 0 only when the job completed.
 */
async function startAndFollow(runtime: Runtime, options: { tenant: string; wait?: boolean }, start: (starter: JobStarter) => Promise<{ jobId: string }>): Promise<void> {
  const { engine, database, services } = await runtime.openEngine();
  const { jobId } = await start({ engine, pool: database.pool, config: services.config });
  process.stdout.write(`${JSON.stringify({ job_id: jobId })}\n`);
  if (!options.wait) return;
  await warnWhenNoWorker(engine);
  const tty = process.stdout.isTTY === true;
  let last = '';
  for (;;) {
    const document = await readJobDocument(engine, database.pool, options.tenant, jobId);
    const line = tty ? describeJob(document) : JSON.stringify(document);
    const key = tty ? line : JSON.stringify({ ...document, progress: 0 });
    if (key !== last) process.stdout.write(`${line}\n`);
    last = key;
    if (finished.has(document.status)) {
      process.exitCode = document.status === 'completed' ? 0 : 1;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function learningCommand(runtime: Runtime): Command {
  const learning = new Command('learning').description('Learning pipeline: rounds of words researched into a knowledge base');

  learning.command('start')
    .description('Start a learning job: quick learns the first few queued words, deep learns them all and deepens 5 entries')
    .addOption(new Option('--mode <mode>', 'quick or deep').choices(['quick', 'deep']).makeOptionMandatory())
    .addOption(tenantOption())
    .option('--wait', 'follow the job until it ends; exit code 0 only when it completed')
    .action((options: { mode: 'quick' | 'deep'; tenant: string; wait?: boolean }) =>
      startAndFollow(runtime, options, (starter) => startLearningJob(starter, options.tenant, { mode: options.mode })));

  learning.command('start-big')
    .description('Start a big learning job: rounds of words until the budget (TASKLOOM_LEARNING_BUDGET_SECONDS) runs out')
    .option('--budget <seconds>', 'wall-clock budget from the first start', positiveIntegerOption)
    .option('--words-per-round <n>', 'words one round asks for', positiveIntegerOption)
    .addOption(tenantOption())
    .option('--wait', 'follow the job until it ends; exit code 0 only when it completed')
    .action((options: { budget?: number; wordsPerRound?: number; tenant: string; wait?: boolean }) =>
      startAndFollow(runtime, options, (starter) => startBigLearningJob(starter, options.tenant, {
        ...(options.budget === undefined ? {} : { budget_seconds: options.budget }),
        ...(options.wordsPerRound === undefined ? {} : { words_per_round: options.wordsPerRound }),
      })));

  learning.command('status')
    .description('A learning job\'s document (status, progress, words learned, rounds, errors) as JSON')
    .argument('<job_id>')
    .addOption(tenantOption())
    .action(async (jobId: string, options: { tenant: string }) => {
      const { engine, database } = await runtime.openEngine();
      process.stdout.write(`${JSON.stringify(await readJobDocument(engine, database.pool, options.tenant, jobId), null, 2)}\n`);
    });

  learning.command('knowledge')
    .description('The tenant\'s known words (alphabetical), or one word\'s full entry')
    .argument('[word]', 'show this word (any spelling)')
    .option('--search <text>', 'words containing this text')
    .option('--category <category>', 'a category (noun.animal) or part of speech (noun)')
    .option('--limit <n>', 'words to show', positiveIntegerOption, 50)
    .addOption(tenantOption())
    .option('--json', 'one JSON object per line')
    .action(async (word: string | undefined, options: { search?: string; category?: string; limit: number; tenant: string; json?: boolean }) => {
      const database = await runtime.openDatabase();
      if (word !== undefined) {
        const entry = await getKnowledge(database.pool, options.tenant, normaliseWord(word));
        if (!entry) throw new NotFoundError('Known word', word);
        process.stdout.write(`${JSON.stringify(entry, null, 2)}\n`);
        return;
      }
      const page = await listKnowledge(database.pool, options.tenant, { search: options.search === undefined ? undefined : normaliseWord(options.search), category: options.category, limit: options.limit });
      for (const entry of page.entries) {
        process.stdout.write(options.json ? `${JSON.stringify(entry)}\n` : `${entry.word.padEnd(24)} ${(entry.category ?? '').padEnd(18)} ${entry.explanation}\n`);
      }
      if (!options.json) process.stdout.write(`${page.entries.length} of ${page.total} words\n`);
    });

  return learning;
}
