/**
 * `taskloom llm`: see which models are configured and reachable, and try one.
 *
 *   taskloom llm models [--json]
 *   taskloom llm try --model ID [--purpose generation|judging|research] [--instructions TEXT] [--no-cache] [--embed] "prompt"
 *   taskloom llm similarity [--model ID] [--json] "text a" "text b"
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { createLlmGateway, listModelsForConfig, type LlmModelInfo } from '../llm/index.ts';
import type { Logger } from '../logger.ts';

export interface LlmCommandRuntime {
  loadConfig(): Config;
  openDatabase(): Promise<{ pool: Pool; close(): Promise<void> }>;
  logger: Logger;
}

/** The answer shape `llm try` asks for: small enough for any model, structured enough to test JSON output. */
const trySchema = z.object({
  answer: z.string().describe('A direct answer to the prompt.'),
  key_points: z.array(z.string()).min(1).max(5).describe('The main points, one sentence each.'),
});

function printModels(models: LlmModelInfo[]): void {
  const rows = models.map((model) => [model.id, model.purpose.join(','), model.configured ? 'yes' : 'no', model.reachable === undefined ? '-' : model.reachable ? 'yes' : 'no']);
  const header = ['model', 'purpose', 'configured', 'reachable'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
}

function parsePurpose(value: string): 'generation' | 'judging' | 'research' {
  if (value !== 'generation' && value !== 'judging' && value !== 'research') throw new InvalidArgumentError('purpose must be generation, judging or research');
  return value;
}

export function llmCommand(runtime: LlmCommandRuntime): Command {
  const command = new Command('llm').description('LLM providers and models: list them, try one');

  command
    .command('models')
    .description('List models: the default per purpose, fallbacks, known models of every provider, and which are configured and reachable')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const config = runtime.loadConfig();
      const models = await listModelsForConfig(config);
      if (options.json) process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      else printModels(models);
      if (!models.some((model) => model.configured && model.provider !== 'offline')) {
        process.stderr.write('No provider key is configured: every call uses the deterministic offline model. Set OPENROUTER_API_KEY (or another provider key) for real models.\n');
      }
    });

  command
    .command('try')
    .description('Send one prompt through the gateway (retries, fallbacks, usage row and cache included) and print the structured answer')
    .argument('<prompt>', 'the prompt text')
    .option('--model <id>', 'provider:model, or a bare OpenRouter id (default: the purpose default)')
    .addOption(new Option('--purpose <purpose>', 'which default model to use when --model is not given').default('generation').argParser(parsePurpose))
    .option('--instructions <text>', 'system instructions', 'Answer the prompt concisely and accurately.')
    .option('--no-cache', 'bypass the response cache for this call')
    .option('--embed', 'embed the prompt instead and print the vector size and norm')
    .action(async (prompt: string, options: { model?: string; purpose: 'generation' | 'judging' | 'research'; instructions: string; cache: boolean; embed?: boolean }) => {
      const config = runtime.loadConfig();
      const database = await runtime.openDatabase();
      try {
        const gateway = createLlmGateway({ config, pool: database.pool, logger: runtime.logger });
        const controller = new AbortController();
        const stop = (): void => controller.abort(new Error('interrupted'));
        process.once('SIGINT', stop);
        const started = performance.now();
        try {
          if (options.embed) {
            const result = await gateway.embedTexts({ texts: [prompt], signal: controller.signal, ...(options.model ? { model: options.model } : {}) });
            const vector = result.embeddings[0] ?? [];
            process.stdout.write(`${JSON.stringify({ model: result.model, version: result.version, dimensions: vector.length, norm: Math.hypot(...vector), usage: result.usage, latency_ms: Math.round(performance.now() - started), head: vector.slice(0, 8) }, null, 2)}\n`);
            return;
          }
          const result = await gateway.generateStructured({
            purpose: options.purpose,
            ...(options.model ? { model: options.model } : {}),
            schema: trySchema,
            instructions: options.instructions,
            prompt,
            signal: controller.signal,
            context: { step: 'cli-try' },
            ...(options.cache === false ? { cache: false } : {}),
          });
          process.stdout.write(`${JSON.stringify({ model: result.model, cached: result.cached, usage: result.usage, latency_ms: Math.round(performance.now() - started), offline: result.model.startsWith('offline:'), object: result.object }, null, 2)}\n`);
        } finally {
          process.removeListener('SIGINT', stop);
        }
      } finally {
        await database.close();
      }
    });

  command
    .command('similarity')
    .description('Embed two texts and print their cosine similarity and whether the automated gather would call them duplicates (its threshold for that model)')
    .argument('<a>', 'the first text')
    .argument('<b>', 'the second text')
    .option('--model <id>', 'embedding model, provider:model (default: TASKLOOM_LLM_EMBEDDING_MODEL, else offline:embedding)')
    .option('--json', 'print JSON instead of text')
    .action(async (first: string, second: string, options: { model?: string; json?: boolean }) => {
      // Imported here: the AI SDK and the word vectors load only when this command runs.
      const { textSimilarity } = await import('../llm/text-similarity.ts');
      const result = await textSimilarity({ config: runtime.loadConfig(), logger: runtime.logger, texts: [first, second], ...(options.model ? { model: options.model } : {}) });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      process.stdout.write([
        `cosine     ${result.cosine.toFixed(4)}`,
        `model      ${result.model}${result.version ? ` (${result.version}, ${result.dimensions} dimensions)` : ` (${result.dimensions} dimensions)`}`,
        `threshold  ${result.threshold} (${result.thresholdBasis})`,
        `verdict    ${result.duplicate ? 'duplicate: the gather would drop the second text' : 'different: the gather would keep both'}`,
      ].join('\n') + '\n');
    });

  return command;
}
