/**
 * All configuration, resolved and validated once at start-up.
 *
 * Every setting comes from the environment unless the caller passes an explicit override
 * (explicit arguments beat env). An invalid value never silently becomes the default: it
 * raises a ConfigError naming the variable, the bad value and what would be accepted.
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { maxBudgetSeconds } from './pipelines/learning/limits.ts';

const positiveInteger = z.coerce.number().int().positive();
const nonNegativeInteger = z.coerce.number().int().nonnegative();
export const booleanFromString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));
const urlString = z.url();
const cronExpression = z.string().regex(/^\S+(\s+\S+){4}$/, 'a five-field cron expression such as "0 2 * * *"');
const timeZone = z.string().refine((zone) => {
  // The default needs no check: the first DateTimeFormat loads ICU's time zone data, 10-15 ms of
  // every command's start-up otherwise.
  if (zone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as UTC or Europe/Amsterdam');

// Every learning budget has the one limit its tasks' hard timeouts are derived from: a longer
// one would be stopped by the engine mid-run, so it is refused here, at start-up.
const learningBudget = positiveInteger.max(maxBudgetSeconds, `at most ${maxBudgetSeconds} seconds: a learning job's hard timeout is derived from this limit`);

/** One environment variable: its schema, default and the text shown in errors and docs. */
interface Setting<Output> {
  env: string;
  schema: z.ZodType<Output>;
  default?: string;
  help: string;
}

function setting<Output>(env: string, schema: z.ZodType<Output>, help: string, defaultValue?: string): Setting<Output> {
  return defaultValue === undefined ? { env, schema, help } : { env, schema, help, default: defaultValue };
}

/**
 * The catalog of every environment variable taskloom reads. The README's configuration table is
 * generated from the same list (`taskloom config`), and a test holds the two equal.
 */
export const settings = {
  databaseUrl: setting('DATABASE_URL', urlString.optional(), 'PostgreSQL 13+ connection string. Unset: an embedded PostgreSQL is started under TASKLOOM_HOME.'),
  home: setting('TASKLOOM_HOME', z.string().min(1), 'Folder for local state: the embedded PostgreSQL data folder (as root, when the postgres user cannot reach it, the data goes to /var/lib/taskloom) and its port record.', '.taskloom'),
  embeddedPort: setting('TASKLOOM_EMBEDDED_PG_PORT', positiveInteger.max(65535), 'Port of the embedded PostgreSQL when DATABASE_URL is unset; when taken by anything else, a free port is used and recorded in TASKLOOM_HOME.', '54329'),
  databasePoolSize: setting('TASKLOOM_DB_POOL_SIZE', positiveInteger.max(500), 'Connections per process in the main pool, opened and primed as `serve` or `worker` starts (its worker borrows up to three of them for claims and settles, and gives back those it is not using as soon as anything else waits for one; pg-boss keeps two for cron). About twice the PostgreSQL server\'s cores across all processes: more make a burst of tasks slower, not faster.', '10'),
  logLevel: setting('LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'pino log level (stderr). `--verbose` on any command means `debug`.', 'warn'),
  queues: setting('TASKLOOM_QUEUES', z.string().optional(), 'Comma-separated queues this process works (default: all queues).'),
  workerConcurrency: setting('TASKLOOM_WORKER_CONCURRENCY', positiveInteger.max(1000), 'Tasks one worker process runs at once.', '8'),
  heartbeatSeconds: setting('TASKLOOM_HEARTBEAT_SECONDS', positiveInteger.min(2).max(3600), 'Workers refresh their heartbeat every half of this; one silent for 1.5 times this is presumed gone, and its running tasks resume on another worker.', '10'),
  pollIntervalMs: setting('TASKLOOM_POLL_INTERVAL_MS', positiveInteger.min(100), 'Idle polling backstop for new tasks; LISTEN/NOTIFY wakes workers at once.', '2000'),
  shutdownGraceMs: setting('TASKLOOM_SHUTDOWN_GRACE_MS', nonNegativeInteger, 'On SIGTERM, how long running tasks get to stop after their signal aborts before they are released.', '10000'),
  childWaitHoldMs: setting('TASKLOOM_CHILD_WAIT_HOLD_MS', nonNegativeInteger.max(600_000), 'How long a task waiting for its child tasks keeps its attempt (listening for them to finish) before it parks, while its worker has a slot to spare and fewer than half its slots hold waits; 0 parks at once.', '5000'),
  port: setting('PORT', positiveInteger.max(65535), 'HTTP port of `taskloom serve`.', '8000'),
  apiBodyLimitBytes: setting('TASKLOOM_API_BODY_LIMIT_BYTES', positiveInteger.min(1024).max(104_857_600), 'Largest request body the HTTP API accepts; bigger bodies answer 413 payload_too_large.', '1048576'),
  apiRateLimitPerMinute: setting('TASKLOOM_API_RATE_LIMIT', positiveInteger.max(10_000_000), 'Requests one API key may make per minute in one process; more answer 429 rate_limited with Retry-After.', '1200'),
  webhookTimeoutMs: setting('TASKLOOM_WEBHOOK_TIMEOUT_MS', positiveInteger.min(100).max(300_000), 'Time a webhook receiver gets to answer one delivery before it counts as failed and is retried.', '10000'),
  webhookMaxAttempts: setting('TASKLOOM_WEBHOOK_MAX_ATTEMPTS', positiveInteger.max(100), 'Attempts per webhook event (the first included) before the event is dropped and the next one is sent.', '8'),
  webhookRetryBaseMs: setting('TASKLOOM_WEBHOOK_RETRY_BASE_MS', positiveInteger.max(3_600_000), 'First webhook retry delay; doubles each attempt (with jitter) up to TASKLOOM_WEBHOOK_RETRY_MAX_MS.', '1000'),
  webhookRetryMaxMs: setting('TASKLOOM_WEBHOOK_RETRY_MAX_MS', positiveInteger.max(86_400_000), 'Longest delay between two webhook attempts.', '300000'),
  webhookAllowLoopback: setting('TASKLOOM_WEBHOOK_ALLOW_LOOPBACK', booleanFromString, 'Allow callback_url targets on loopback addresses (127.0.0.0/8, ::1, localhost). For tests and single-machine setups.', 'false'),
  webhookAllowPrivate: setting('TASKLOOM_WEBHOOK_ALLOW_PRIVATE', booleanFromString, 'Allow callback_url targets on private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). Link-local and cloud metadata addresses are always refused.', 'false'),
  host: setting('HOST', z.string().min(1), 'HTTP listen address of `taskloom serve`.', '127.0.0.1'),
  apiKey: setting('TASKLOOM_API_KEY', z.string().min(16).optional(), 'API key for the default tenant created on first start (otherwise one is generated and printed once).'),
  redisUrl: setting('REDIS_URL', urlString.optional(), 'When set, automated gather events are also published on Redis channel automated-gather:{projectId} (tenant:{tenant}:automated-gather:{projectId} for tenants other than default).'),
  payloadApiUrl: setting('PAYLOAD_API_URL', urlString.optional(), 'Payload CMS base URL for departments. Unset: taskloom\'s own departments table.'),
  appUrl: setting('NEXT_PUBLIC_APP_URL', urlString.optional(), 'Seed 001\'s main app URL, whose Payload CMS answered at {NEXT_PUBLIC_APP_URL}/api/departments: used as PAYLOAD_API_URL={NEXT_PUBLIC_APP_URL}/api when PAYLOAD_API_URL is unset.'),
  payloadApiKey: setting('PAYLOAD_API_KEY', z.string().min(1).optional(), 'Payload CMS API key.'),
  gatherSoftTimeoutMs: setting('TASKLOOM_GATHER_SOFT_TIMEOUT_MS', positiveInteger, 'Automated gather: at this age a run stops after its last saved step, emits automation_timeout and returns status `timeout` (seed: 540 s).', '540000'),
  gatherHardTimeoutMs: setting('TASKLOOM_GATHER_HARD_TIMEOUT_MS', positiveInteger, 'Automated gather: an attempt running this long is stopped and retried from its checkpoints (seed: 600 s). Must exceed the soft timeout.', '600000'),
  gatherItemsPerIteration: setting('TASKLOOM_GATHER_ITEMS_PER_ITERATION', positiveInteger.min(5).max(10), 'Automated gather: items asked of the model per iteration (5-10).', '8'),
  gatherDuplicateThreshold: setting('TASKLOOM_GATHER_DUPLICATE_THRESHOLD', z.coerce.number().min(0.3).max(1).optional(), 'Automated gather: embedding cosine similarity at or above which a new item is a duplicate, for every embedding model. Unset: each model\'s measured default (`offline:embedding` 0.75, see docs/llm.md; `taskloom llm similarity` shows it).'),
  gatherJudge: setting('TASKLOOM_GATHER_JUDGE', booleanFromString, 'Automated gather: ask an LLM judge about borderline pairs (cosine between TASKLOOM_GATHER_JUDGE_LOWER_BOUND and the duplicate threshold); one extra call per iteration at most.', 'false'),
  gatherJudgeLowerBound: setting('TASKLOOM_GATHER_JUDGE_LOWER_BOUND', z.coerce.number().min(0).max(1).optional(), 'Automated gather: lower cosine bound of the borderline band sent to the judge. Unset: 0.1 below the embedding model\'s duplicate threshold.'),
  learningSource: setting('TASKLOOM_LEARNING_SOURCE', z.enum(['auto', 'wordnet', 'llm']), 'Learning pipeline: where rounds get words and words get knowledge. `wordnet`: WordNet 3.1 offline; `llm`: the research model (TASKLOOM_LLM_RESEARCH_MODEL, Perplexity when configured); `auto`: the research model when a provider key is configured, else WordNet.', 'auto'),
  learningProposals: setting('TASKLOOM_LEARNING_PROPOSALS', z.enum(['source', 'wordnet']), 'Learning pipeline: who proposes a round\'s words. `source`: the research source (one model call per round with `llm`); `wordnet`: frequent WordNet lemmas, offline, while the research model still defines them (saves the ~1,000-word generation call a round).', 'source'),
  learningBudgetSeconds: setting('TASKLOOM_LEARNING_BUDGET_SECONDS', learningBudget, `Learning pipeline: wall-clock budget of a big learning job from its first start, counting every wait (seed: 600 s; at most ${maxBudgetSeconds}).`, '600'),
  learningQuickBudgetSeconds: setting('TASKLOOM_LEARNING_QUICK_BUDGET_SECONDS', learningBudget, `Learning pipeline: wall-clock budget of a quick learning job from its first start (at most ${maxBudgetSeconds}); at its deadline it completes with what it learned.`, '120'),
  learningDeepBudgetSeconds: setting('TASKLOOM_LEARNING_DEEP_BUDGET_SECONDS', learningBudget, `Learning pipeline: wall-clock budget of a deep learning job from its first start (at most ${maxBudgetSeconds}); its last tenth is kept for deepening entries.`, '600'),
  learningWordsPerRound: setting('TASKLOOM_LEARNING_WORDS_PER_ROUND', positiveInteger.max(5000), 'Learning pipeline: words one big-job round asks for (seed: 1000).', '1000'),
  learningWordsLearnedPerRound: setting('TASKLOOM_LEARNING_WORDS_LEARNED_PER_ROUND', positiveInteger.max(5000), 'Learning pipeline: queued words one big-job round learns at most; the rest stay queued (seed: 200).', '200'),
  learningBatchSize: setting('TASKLOOM_LEARNING_BATCH_SIZE', positiveInteger.max(50), 'Learning pipeline: words researched in one model call and saved in one checkpointed step.', '10'),
  learningQuickWords: setting('TASKLOOM_LEARNING_QUICK_WORDS', positiveInteger.max(100), 'Learning pipeline: unknown words a quick learning job learns.', '5'),
  learningQuickIntervalSeconds: setting('TASKLOOM_LEARNING_QUICK_INTERVAL_SECONDS', nonNegativeInteger.max(86_400), 'Learning pipeline: at most one quick learning job per tenant in this many seconds (seed: 60; 0 turns the throttle off).', '60'),
  brainServiceBaseUrl: setting('BRAIN_SERVICE_BASE_URL', urlString.optional(), 'Brain service base URL. Unset: the built-in PostgreSQL brain.'),
  brainServiceUrl: setting('BRAIN_SERVICE_URL', urlString.optional(), 'Seed 000\'s name for BRAIN_SERVICE_BASE_URL; used when that is unset.'),
  brainServiceApiKey: setting('BRAIN_SERVICE_API_KEY', z.string().min(1).optional(), 'Brain service API key.'),
  brainServiceDuplicateThreshold: setting('BRAIN_SERVICE_DUPLICATE_THRESHOLD', z.coerce.number().min(0.3).max(1), 'Automated gather: the similarity the Brain service\'s duplicate search is asked for (seed: 0.90). Its own scale, not the local embedding\'s threshold.', '0.9'),
  openrouterApiKey: setting('OPENROUTER_API_KEY', z.string().min(1).optional(), 'OpenRouter API key. Enables `openrouter:*` models and bare seed ids such as `anthropic/claude-sonnet-4.5`.'),
  openaiApiKey: setting('OPENAI_API_KEY', z.string().min(1).optional(), 'OpenAI API key. Enables `openai:*` models.'),
  googleApiKey: setting('GOOGLE_GENERATIVE_AI_API_KEY', z.string().min(1).optional(), 'Google Gemini API key. Enables `google:*` models (GEMINI_API_KEY is accepted too).'),
  geminiApiKey: setting('GEMINI_API_KEY', z.string().min(1).optional(), 'The seeds\' name for the Google Gemini API key; used when GOOGLE_GENERATIVE_AI_API_KEY is unset.'),
  anthropicApiKey: setting('ANTHROPIC_API_KEY', z.string().min(1).optional(), 'Anthropic API key. Enables `anthropic:*` models.'),
  groqApiKey: setting('GROQ_API_KEY', z.string().min(1).optional(), 'Groq API key. Enables `groq:*` models.'),
  perplexityApiKey: setting('PERPLEXITY_API_KEY', z.string().min(1).optional(), 'Perplexity API key. Enables `perplexity:*` models (research).'),
  contentWritingModel: setting('TASKLOOM_CONTENT_WRITING_MODEL', z.string().min(1).optional(), 'Content pipeline: model for personas, topics, blog posts and social posts. Unset: Gemini when a Google key is set (the seed), else the generation default. Research (company DNA) uses TASKLOOM_LLM_RESEARCH_MODEL.'),
  contentImageModel: setting('TASKLOOM_CONTENT_IMAGE_MODEL', z.string().min(1).optional(), 'Content pipeline: image model as `provider:model` (openai:gpt-image-1, google:imagen-4.0-generate-001, openai-compatible:MODEL). Unset: generate_image fails with provider_not_configured; no placeholder is made.'),
  openaiCompatibleBaseUrl: setting('OPENAI_COMPATIBLE_BASE_URL', urlString.optional(), 'Base URL of an OpenAI-compatible endpoint (Ollama http://127.0.0.1:11434/v1, LM Studio, vLLM, llama.cpp). Enables `openai-compatible:*` models.'),
  openaiCompatibleApiKey: setting('OPENAI_COMPATIBLE_API_KEY', z.string().min(1).optional(), 'Optional bearer key for OPENAI_COMPATIBLE_BASE_URL.'),
  llmGenerationModel: setting('TASKLOOM_LLM_GENERATION_MODEL', z.string().min(1).optional(), 'Default model for content generation, as `provider:model` (or a bare OpenRouter id). Unset: the first configured provider\'s default, else `offline:default`.'),
  llmJudgingModel: setting('TASKLOOM_LLM_JUDGING_MODEL', z.string().min(1).optional(), 'Default model for quality scoring and evaluation. Unset: the generation default.'),
  llmResearchModel: setting('TASKLOOM_LLM_RESEARCH_MODEL', z.string().min(1).optional(), 'Default model for research (company DNA, learning rounds). Unset: Perplexity when configured, else TASKLOOM_LLM_GENERATION_MODEL when set, else the first configured provider\'s research default (openai:gpt-4.1, google:gemini-2.5-pro, openrouter:perplexity/sonar, ...), else `offline:default`.'),
  llmEmbeddingModel: setting('TASKLOOM_LLM_EMBEDDING_MODEL', z.string().min(1).optional(), 'Default embedding model. Unset: `offline:embedding` (local GloVe word vectors, hashed n-grams for unknown words), which needs no key.'),
  llmFallbackModels: setting('TASKLOOM_LLM_FALLBACK_MODELS', z.string().optional(), 'Comma-separated models tried in order when the requested model keeps failing (after its retries).'),
  llmTimeoutMs: setting('TASKLOOM_LLM_TIMEOUT_MS', positiveInteger.max(3_600_000), 'Per-call timeout of one provider request, in milliseconds.', '120000'),
  llmMaxRetries: setting('TASKLOOM_LLM_MAX_RETRIES', nonNegativeInteger.max(1000), 'Most retries of one model on 429, 5xx, timeouts and network errors (Retry-After is honoured; otherwise backoff from 0.5 s doubling to 30 s) before the fallback chain is used; TASKLOOM_LLM_RETRY_WINDOW_MS bounds them in time.', '30'),
  llmRetryWindowMs: setting('TASKLOOM_LLM_RETRY_WINDOW_MS', nonNegativeInteger.max(86_400_000), 'How long retries of one model go on after its first failure, so a provider outage this long is ridden out; each retry is logged with the time it will be made.', '300000'),
  llmCache: setting('TASKLOOM_LLM_CACHE', z.enum(['auto', 'on', 'off']), 'Response cache in PostgreSQL: `auto` caches offline models only, `on` caches every model, `off` caches nothing.', 'auto'),
  llmConcurrency: setting('TASKLOOM_LLM_CONCURRENCY', positiveInteger.max(1000), 'Requests in flight per provider in one process (shared by all tasks).', '4'),
  llmRequestsPerMinute: setting('TASKLOOM_LLM_RPM', positiveInteger.max(1_000_000), 'Requests started per provider per minute in one process.', '60'),
  llmProviderLimits: setting('TASKLOOM_LLM_PROVIDER_LIMITS', z.string().optional(), 'Per-provider overrides as JSON, e.g. {"openrouter":{"concurrency":8,"rpm":120}}.'),
  llmPriceTable: setting('TASKLOOM_LLM_PRICES', z.string().optional(), 'Price table (JSON or a path to a JSON file): {"provider:model": {"inputPerMillion": 3, "outputPerMillion": 15}} in USD. Unpriced models report cost null.'),
  showAiMeta: setting('NEXT_PUBLIC_SHOW_AI_META', booleanFromString, 'Smart metadata (seed 003): the seed\'s feature flag for showing AI tags, as the default of tenants without a setting of their own (a tenant\'s PUT /api/smart-metadata/settings overrides it). The seed shipped it off until enabled; taskloom shows the tags unless this is `false`.', 'true'),
  enableSti: setting('ENABLE_STI', booleanFromString, 'Smart metadata (seed 003): AI metadata generation through the API. `false`: POST /api/projects/{id}/generate_metadata/ answers 400, and neither the nightly back-fill nor the weekly cleanup is scheduled.', 'true'),
  metadataModel: setting('TASKLOOM_METADATA_MODEL', z.string().min(1).optional(), 'Smart metadata: model for tags, summary and difficulty, as `provider:model`. Unset: the generation default. With no provider configured the offline extractive analyser answers (`offline:extractive`).'),
  metadataNightlyCron: setting('TASKLOOM_METADATA_NIGHTLY_CRON', cronExpression, 'Smart metadata: when the back-fill of projects without AI metadata runs (five-field cron, read in TASKLOOM_METADATA_TIMEZONE).', '0 2 * * *'),
  metadataCleanupCron: setting('TASKLOOM_METADATA_CLEANUP_CRON', cronExpression, 'Smart metadata: when AI metadata of old draft projects is removed (weekly by default: Sundays 03:00).', '0 3 * * 0'),
  metadataTimezone: setting('TASKLOOM_METADATA_TIMEZONE', timeZone, 'Smart metadata: IANA time zone of the nightly and cleanup schedules, e.g. Europe/Amsterdam.', 'UTC'),
  metadataRequestsPerMinute: setting('TASKLOOM_METADATA_RPM', positiveInteger.max(100_000), 'Smart metadata: model requests per minute the nightly back-fill makes at most (the offline analyser is not limited).', '20'),
  metadataRegenerateDebounceMs: setting('TASKLOOM_METADATA_REGENERATE_DEBOUNCE_MS', nonNegativeInteger.max(86_400_000), 'Smart metadata: after a content change (for tenants that enable regeneration), wait this long for further changes before regenerating once.', '60000'),
} as const;

type SettingKey = keyof typeof settings;
type SettingValue<Key extends SettingKey> = (typeof settings)[Key] extends Setting<infer Output> ? Output : never;

/** The resolved configuration. Every value is typed and already validated. */
export type Config = { [Key in SettingKey]: SettingValue<Key> } & {
  /** TASKLOOM_HOME resolved against the working directory. */
  homePath: string;
  /** TASKLOOM_QUEUES parsed, or undefined for all queues. */
  queueList: string[] | undefined;
};

export type ConfigOverrides = Partial<{ [Key in SettingKey]: SettingValue<Key> }>;

/**
 * Resolves the configuration from `environment` (default `process.env`) and `overrides`.
 * Throws ConfigError listing every invalid variable at once, so one run shows all fixes needed.
 */
export function loadConfig(overrides: ConfigOverrides = {}, environment: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const resolved: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(settings) as [SettingKey, Setting<unknown>][]) {
    if (key in overrides && overrides[key] !== undefined) {
      resolved[key] = overrides[key];
      continue;
    }
    const raw = environment[definition.env];
    const input = raw === undefined || raw === '' ? definition.default : raw.trim();
    const parsed = definition.schema.safeParse(input);
    if (parsed.success) {
      resolved[key] = parsed.data;
    } else {
      const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
      problems.push(`${definition.env}=${JSON.stringify(raw)} is invalid (${reason}). ${definition.help}`);
    }
  }
  // Settings that are each valid but contradict each other.
  const gatherHard = resolved.gatherHardTimeoutMs as number | undefined;
  const gatherSoft = resolved.gatherSoftTimeoutMs as number | undefined;
  if (gatherHard !== undefined && gatherSoft !== undefined && gatherHard <= gatherSoft) {
    problems.push(`${settings.gatherHardTimeoutMs.env}=${gatherHard} does not exceed ${settings.gatherSoftTimeoutMs.env}=${gatherSoft}: a run must reach its soft timeout (and stop with its work saved) before the hard one stops it. Raise the hard timeout or lower the soft one.`);
  }
  const judgeFrom = resolved.gatherJudgeLowerBound as number | undefined;
  const duplicateAt = resolved.gatherDuplicateThreshold as number | undefined;
  if (resolved.gatherJudge === true && judgeFrom !== undefined && duplicateAt !== undefined && judgeFrom >= duplicateAt) {
    problems.push(`${settings.gatherJudgeLowerBound.env}=${judgeFrom} is not below ${settings.gatherDuplicateThreshold.env}=${duplicateAt}: the judge is asked about pairs from the lower bound up to the threshold, so it would never be asked. Lower the bound (unset: 0.1 below the threshold) or turn ${settings.gatherJudge.env} off.`);
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, { problems });
  }
  const config = resolved as Config;
  // The seeds' names for two settings, read where taskloom's own are unset, so an existing
  // deployment's environment keeps its Payload CMS and Brain service.
  config.brainServiceBaseUrl ??= config.brainServiceUrl;
  if (config.payloadApiUrl === undefined && config.appUrl !== undefined) config.payloadApiUrl = `${config.appUrl.replace(/\/+$/, '')}/api`;
  config.homePath = path.resolve(config.home);
  config.queueList = config.queues
    ? config.queues.split(',').map((name) => name.trim()).filter((name) => name.length > 0)
    : undefined;
  return config;
}

/** Markdown table of every setting, for the README. */
export function configurationMarkdown(): string {
  const rows = Object.values(settings).map((definition: Setting<unknown>) => `| \`${definition.env}\` | ${definition.default === undefined ? '(unset)' : `\`${definition.default}\``} | ${definition.help} |`);
  return ['| variable | default | what it does |', '| --- | --- | --- |', ...rows].join('\n');
}
