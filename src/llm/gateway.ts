/**
 * The LLM gateway every pipeline calls: structured generation and embeddings on AI SDK 7 with
 * cancellation, a per-call timeout, retries honouring Retry-After, a fallback model chain, one
 * repair round for schema-invalid output, per-provider limits, usage rows, metrics and a response
 * cache. See docs/llm.md for the behaviour in prose.
 *
 * The AI SDK (`ai`, with its gateway and OpenTelemetry packages), the providers' packages and
 * prom-client are imported on the first call, not with the gateway: every process builds a
 * gateway for its task types, and one that only lists them, or never calls a model, would
 * otherwise load some 3 MB of modules for nothing.
 */
import type { LanguageModelV4, ProviderV4 } from '@ai-sdk/provider';
import type { ModelMessage, Schema } from 'ai';
import type { z } from 'zod';
import { cachedPromise } from '../cached-promise.ts';
import type { Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { salvageStructuredAnswer } from './json-salvage.ts';
import { storableCopy } from '../db/storable.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { describeCause, LlmError, type LlmErrorCode } from './errors.ts';
import { listModels, type LlmModelInfo } from './model-catalog.ts';
import { parseModelList } from './model-id.ts';
import { createModelResolver, type ResolvedModel } from './model-resolver.ts';
import { llmMetrics } from './metrics.ts';
import { parsePriceTable } from './price-table.ts';
import { configureProviders, defaultModelFor } from './provider-registry.ts';
import { RateLimiter, sharedLimiter, type ProviderLimits } from './rate-limiter.ts';
import { deleteCachedResponse, readCachedResponse, responseCacheKey, writeCachedResponse } from './response-cache.ts';
import { defaultRetryOptions, isRetryableProviderError, nextRetryDelay, retryAfterMs, sleep, statusCodeOf, type RetryOptions } from './retry-policy.ts';
import { sweepInterruptedLlmCalls, usageForTask, type LlmCallRow, type LlmPurpose, type StartedLlmCall, type TaskUsage } from './usage-store.ts';
import { UsageWriter } from './usage-writer.ts';

/** Where a call comes from; recorded on its usage rows. */
export interface LlmCallContext {
  taskId?: string;
  step?: string;
}

export type GenerationPurpose = Exclude<LlmPurpose, 'embedding'>;

export interface GenerateStructuredRequest<T> {
  /** Picks the default model when `model` is unset. @default 'generation' */
  purpose?: GenerationPurpose;
  /** `provider:model` or a bare OpenRouter id. @default the purpose's default model */
  model?: string;
  /** Extra models tried after `model` (before the configured TASKLOOM_LLM_FALLBACK_MODELS). @default [] */
  fallbackModels?: string[];
  /** The output schema; the result is validated against it. */
  schema: z.ZodType<T>;
  /** System instructions. */
  instructions: string;
  prompt: string;
  /** Cancels the call (and any wait for a slot or a retry). */
  signal?: AbortSignal;
  context?: LlmCallContext;
  /** Per-request timeout of one provider request. @default TASKLOOM_LLM_TIMEOUT_MS */
  timeoutMs?: number;
  /** Use the response cache for this call. @default per TASKLOOM_LLM_CACHE */
  cache?: boolean;
  /** Told before each wait for a retry (it is logged too). Must not throw. @default none */
  onRetry?: (notice: LlmRetryNotice) => void;
}

/** A retry the gateway is about to wait for (a pipeline can turn it into an event). */
export interface LlmRetryNotice {
  /** `provider:model` being retried. */
  model: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  /** When the retry will be made (ISO 8601). */
  retryAt: string;
  /** Why the last request failed, without internal addresses. */
  reason: string;
  statusCode?: number;
}

export interface GenerateStructuredResult<T> {
  object: T;
  /** The `provider:model` that produced the object (after any fallback). */
  model: string;
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

export interface EmbedTextsRequest {
  /** @default TASKLOOM_LLM_EMBEDDING_MODEL, else `offline:embedding` */
  model?: string;
  texts: string[];
  signal?: AbortSignal;
  context?: LlmCallContext;
  timeoutMs?: number;
  /** Told before each wait for a retry (it is logged too). Must not throw. @default none */
  onRetry?: (notice: LlmRetryNotice) => void;
}

export interface EmbedTextsResult {
  embeddings: number[][];
  model: string;
  /**
   * Which embedding of the model answered, when one model id can be several (`offline:embedding`
   * is word vectors, or hashed n-grams when the vectors are missing); null for provider models.
   * Store it with the vectors: vectors of different versions are not comparable.
   */
  version: string | null;
  usage: { tokens: number };
}

export interface LlmGateway {
  generateStructured<T>(request: GenerateStructuredRequest<T>): Promise<GenerateStructuredResult<T>>;
  embedTexts(request: EmbedTextsRequest): Promise<EmbedTextsResult>;
  /** The task's recorded calls and tokens, after waiting for usage rows still being written. */
  usageForTask(taskId: string): Promise<TaskUsage>;
  /** Resolves when every usage row of a finished call is stored in `llm_calls`. */
  flushUsage(): Promise<void>;
  /**
   * Loads the AI SDK, the gateway's metrics, and the provider and model of each purpose's
   * default, before the first call needs them: a worker calls it as it starts, so its first task
   * does not wait for module loading. Never rejects: a provider that cannot be had fails inside
   * its first call, where failures are classified.
   */
  warmUp(): Promise<void>;
  listModels(): Promise<LlmModelInfo[]>;
  /** True when no provider but the offline one is configured. */
  isOffline(): boolean;
  /** The model a purpose uses when the caller names none. */
  defaultModel(purpose: LlmPurpose): string;
  /**
   * The `provider:model` a call with this model (or the purpose's default) is served by: a seed
   * id whose provider is not configured resolves to the offline model, and this says so.
   */
  resolveModel(purpose: LlmPurpose, model?: string): string;
}

export interface CreateLlmGatewayOptions {
  config: Config;
  pool: Pool;
  logger: Logger;
  /** Extra or replacement providers by name; tests inject mock models here. @default {} */
  providers?: Record<string, ProviderV4>;
  /** Retry timings (the count and window are TASKLOOM_LLM_MAX_RETRIES and TASKLOOM_LLM_RETRY_WINDOW_MS). @default defaultRetryOptions */
  retry?: Partial<Omit<RetryOptions, 'maxRetries' | 'windowMs'>>;
  /** Give this gateway its own limiters instead of the process-wide ones (tests). @default false */
  privateLimiters?: boolean;
}

const providerLimitsSchemaMessage = 'Expected JSON like {"openrouter":{"concurrency":8,"rpm":120}}.';

function parseProviderLimits(config: Config): Record<string, Partial<ProviderLimits>> {
  if (!config.llmProviderLimits) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(config.llmProviderLimits);
  } catch (error) {
    throw new ConfigError(`TASKLOOM_LLM_PROVIDER_LIMITS is not valid JSON (${(error as Error).message}). ${providerLimitsSchemaMessage}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`TASKLOOM_LLM_PROVIDER_LIMITS must be a JSON object. ${providerLimitsSchemaMessage}`);
  const limits: Record<string, Partial<ProviderLimits>> = {};
  for (const [provider, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = (value ?? {}) as { concurrency?: unknown; rpm?: unknown };
    const check = (field: string, number: unknown): number | undefined => {
      if (number === undefined) return undefined;
      if (typeof number !== 'number' || !Number.isInteger(number) || number <= 0) throw new ConfigError(`TASKLOOM_LLM_PROVIDER_LIMITS.${provider}.${field} must be a positive integer, got ${JSON.stringify(number)}. ${providerLimitsSchemaMessage}`);
      return number;
    };
    const concurrency = check('concurrency', entry.concurrency);
    const requestsPerMinute = check('rpm', entry.rpm);
    limits[provider] = { ...(concurrency === undefined ? {} : { concurrency }), ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }) };
  }
  return limits;
}

/** Why one provider request failed, normalised. */
interface Failure {
  kind: 'cancelled' | 'timeout' | 'retryable' | 'invalid_output' | 'fatal';
  error: unknown;
  message: string;
  statusCode?: number;
  /** The invalid text, for the repair prompt. */
  text?: string;
}

class CallTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms (TASKLOOM_LLM_TIMEOUT_MS)`);
    this.name = 'CallTimeout';
  }
}

function cancelledError(signal: AbortSignal, target: ResolvedModel | undefined): Error {
  // Like signal.throwIfAborted(): the signal's own reason (the engine's TaskAbortedError, a
  // DOMException AbortError) is rethrown as is, so the engine sees why it stopped the task.
  if (signal.reason instanceof Error) return signal.reason;
  return new LlmError('llm_cancelled', `LLM call cancelled${target ? ` (${target.id})` : ''}.`, {
    details: target ? { provider: target.provider, model: target.model } : {},
    retryable: false,
    cause: signal.reason,
  });
}

/** The AI SDK, imported once by the first call of any gateway in the process. */
let aiSdk: Promise<typeof import('ai')> | undefined;
const loadAiSdk = (): Promise<typeof import('ai')> => (aiSdk ??= import('ai'));

/**
 * Converts a schema with the shapes output schemas use, as a call does before its request goes
 * out. zod's converter is cold in a fresh process: a profile of bench:content's first run spent
 * 17 ms in it across the month's first calls (11 ms in the first, the DNA's), against a cached
 * 0.1-0.2 ms per schema once warm; the schemas themselves are still converted by their first call.
 */
async function warmSchemaConversion(sdk: typeof import('ai')): Promise<void> {
  const { z } = await import('zod');
  const item = z.object({ name: z.string().min(1).describe('a name'), score: z.number().int().min(0).max(100), kind: z.enum(['one', 'two']), note: z.string().nullable().optional() });
  await sdk.zodSchema(z.object({ items: z.array(item).min(1).max(6), tags: z.array(z.string()).optional(), summary: z.string() })).jsonSchema;
}

/** The settings naming each purpose's default model. */
const defaultModelSettings = [
  ['TASKLOOM_LLM_GENERATION_MODEL', 'llmGenerationModel'],
  ['TASKLOOM_LLM_JUDGING_MODEL', 'llmJudgingModel'],
  ['TASKLOOM_LLM_RESEARCH_MODEL', 'llmResearchModel'],
  ['TASKLOOM_LLM_EMBEDDING_MODEL', 'llmEmbeddingModel'],
] as const;

/**
 * A default model no provider here serves is configuration to fix, refused once at start-up with
 * the setting's name: found at the first call instead, `serve` and `worker` crashed on it while
 * loading the providers, and every task of the purpose failed until someone read the log.
 */
function refuseUnusableDefaultModels(config: Config, resolve: (id: string) => ResolvedModel): void {
  for (const [variable, key] of defaultModelSettings) {
    const id = config[key];
    if (id === undefined) continue;
    try {
      resolve(id);
    } catch (error) {
      if (!(error instanceof LlmError)) throw error;
      throw new ConfigError(`${variable}: ${error.message}`, { variable, ...error.details });
    }
  }
}

export function createLlmGateway(options: CreateLlmGatewayOptions): LlmGateway {
  const { config, pool, logger } = options;
  const log = logger.child({ component: 'llm' });
  const providers = configureProviders(config, options.providers);
  const { configured } = providers;
  /**
   * One model instance per id for the gateway's life: the provider builds a new one on every
   * lookup, and an OpenAI-compatible model compiles its response schemas as it is built (0.9 ms
   * of CPU a call in a profile of bench:content, where thirty social posts start together).
   * Kept as the promise, so calls that start together before the first is built share it; one
   * that failed to build is forgotten, and the next call tries again.
   */
  const languageModels = new Map<string, Promise<LanguageModelV4>>();
  const languageModel = (id: string): Promise<LanguageModelV4> => cachedPromise(languageModels, id, () => providers.languageModel(id));
  /**
   * The AI SDK's form of a call's output schema, one per schema object: it converts the zod
   * schema to JSON Schema (for the request, and the response cache's key) once, lazily, where a
   * zod schema handed over afresh was converted on every call (0.1-0.2 ms of CPU each, warm; a
   * run's thirty social posts and forty sections start together on one event loop).
   */
  const outputSchemas = new WeakMap<z.ZodType, Schema<unknown>>();
  const outputSchema = <T>(sdk: typeof import('ai'), schema: z.ZodType<T>): Schema<T> => {
    let converted = outputSchemas.get(schema);
    if (!converted) {
      converted = sdk.zodSchema(schema) as Schema<unknown>;
      outputSchemas.set(schema, converted);
    }
    return converted as Schema<T>;
  };
  const resolver = createModelResolver({ registered: providers.registered, logger: log });
  refuseUnusableDefaultModels(config, (id) => resolver.resolve(id, id));
  const prices = parsePriceTable(config.llmPriceTable);
  const providerLimits = parseProviderLimits(config);
  const retry: RetryOptions = { ...defaultRetryOptions, ...options.retry, maxRetries: config.llmMaxRetries, windowMs: config.llmRetryWindowMs };

  /**
   * Decides on a retry after a retryable failure and waits for it, logging (and telling the
   * caller) when it will be made. Returns false when the model is given up on; the reason is
   * added to `attempts`. Rejects with the caller's cancellation.
   */
  const waitForRetry = async (target: ResolvedModel, failure: Failure, state: { retries: number; firstFailureAt: number }, request: { signal?: AbortSignal | undefined; onRetry?: ((notice: LlmRetryNotice) => void) | undefined; context?: LlmCallContext | undefined }, attempts: string[] | undefined): Promise<boolean> => {
    const requestedMs = retryAfterMs(failure.error);
    const decision = nextRetryDelay({ ...state, requestedMs }, retry);
    if ('refused' in decision) {
      const because = decision.refused === 'retry_after_too_long'
        ? `Retry-After of ${requestedMs} ms exceeds the ${retry.maxRetryAfterMs} ms limit`
        : decision.refused === 'window_exceeded'
          ? `still failing ${Math.round((Date.now() - state.firstFailureAt) / 1000)} s after its first failure (retry window ${Math.round(retry.windowMs / 1000)} s)`
          : `no retries left (${retry.maxRetries})`;
      attempts?.push(`${target.id}: ${because}`);
      return false;
    }
    state.retries += 1;
    const retryAt = new Date(Date.now() + decision.delayMs).toISOString();
    const notice: LlmRetryNotice = { model: target.id, retry: state.retries, delayMs: decision.delayMs, retryAt, reason: failure.message, ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }) };
    log.info({ model: target.id, status: failure.statusCode, delay_ms: decision.delayMs, retry: state.retries, retry_at: retryAt, task_id: request.context?.taskId }, `LLM call failed (${failure.message}); retry ${state.retries} in ${Math.round(decision.delayMs / 100) / 10} s, at ${retryAt}`);
    try {
      request.onRetry?.(notice);
    } catch (error) {
      log.warn({ err: error }, 'an onRetry callback threw');
    }
    try {
      await sleep(decision.delayMs, request.signal);
    } catch {
      throw cancelledError(request.signal as AbortSignal, target);
    }
    return true;
  };
  const configuredFallbacks = parseModelList(config.llmFallbackModels);
  const privateLimiters = new Map<string, RateLimiter>();
  const offline = configured.length === 0;

  if (offline) {
    log.info('No LLM provider key is configured: every call uses the deterministic offline model (offline:default, offline:embedding). Set OPENROUTER_API_KEY or another provider key for real models.');
  }

  const limiterFor = (provider: string): RateLimiter => {
    const limits: ProviderLimits = {
      concurrency: providerLimits[provider]?.concurrency ?? config.llmConcurrency,
      requestsPerMinute: providerLimits[provider]?.requestsPerMinute ?? config.llmRequestsPerMinute,
    };
    if (!options.privateLimiters) return sharedLimiter(provider, limits);
    let limiter = privateLimiters.get(provider);
    if (!limiter) {
      limiter = new RateLimiter(limits);
      privateLimiters.set(provider, limiter);
    }
    return limiter;
  };

  /** Waits for the provider's limiter (the offline model runs locally and is not limited). */
  const acquireSlot = async (provider: string, signal: AbortSignal | undefined): Promise<() => void> => (provider === 'offline' ? () => {} : limiterFor(provider).acquire(signal));

  const cacheEnabled = (target: ResolvedModel, requested: boolean | undefined): boolean => {
    if (requested !== undefined) return requested;
    if (config.llmCache === 'off') return false;
    return config.llmCache === 'on' || target.provider === 'offline';
  };

  /**
   * llm_calls rows are written in the background (usage-writer.ts): a request's in_flight row as
   * it starts, so a crash mid-request leaves a row the sweep marks interrupted, and its outcome
   * as it ends. The caller's step does not wait for its accounting commit (~2 ms a call, 4 % of a
   * gather run's wall time against a 200 ms model). Readers of usage wait for the rows queued
   * before them (usageForTask does), and shutdown flushes before the pool closes.
   */
  const callRows = new UsageWriter(pool, log);
  const record = async (row: LlmCallRow, durationSeconds: number | undefined, started?: Promise<number | undefined>): Promise<void> => {
    callRows.record(row, started);
    const outcome = row.cacheHit ? 'cache_hit' : row.error ? 'error' : 'success';
    const metrics = await llmMetrics();
    metrics.calls.inc({ provider: row.provider, model: row.model, purpose: row.purpose, outcome });
    if (row.inputTokens > 0 && !row.cacheHit) metrics.tokens.inc({ provider: row.provider, model: row.model, direction: 'input' }, row.inputTokens);
    if (row.outputTokens > 0 && !row.cacheHit) metrics.tokens.inc({ provider: row.provider, model: row.model, direction: 'output' }, row.outputTokens);
    if (durationSeconds !== undefined) metrics.duration.observe({ provider: row.provider, model: row.model, outcome }, durationSeconds);
  };
  const flushUsage = (): Promise<void> => callRows.idle();

  /**
   * Imports the AI SDK and the target's provider package before a request is timed, so the first
   * call's timeout and latency are the provider's alone. A provider that cannot be had is left to
   * fail inside the request, where failures are classified.
   */
  const prepare = async (target: ResolvedModel): Promise<typeof import('ai')> => {
    const [sdk] = await Promise.all([loadAiSdk(), providers.provider(target.provider).catch(() => undefined)]);
    return sdk;
  };

  /** Runs `work` under the provider limiter and the per-call timeout; classifies any failure. */
  const withLimits = async <Result>(target: ResolvedModel, signal: AbortSignal | undefined, timeoutMs: number, call: StartedLlmCall, work: (abortSignal: AbortSignal) => Promise<Result>): Promise<({ ok: true; value: Result; seconds: number } | { ok: false; failure: Failure; seconds: number }) & { started?: Promise<number | undefined> }> => {
    let release: () => void;
    try {
      release = await acquireSlot(target.provider, signal);
    } catch (error) {
      return { ok: false, failure: { kind: 'cancelled', error, message: 'cancelled while waiting for a provider slot' }, seconds: 0 };
    }
    // The offline model runs in this process in microseconds: nothing to cut off.
    const started = target.provider === 'offline' ? undefined : callRows.begin(call, timeoutMs);
    const result = await runLimited(target, signal, timeoutMs, work).finally(() => release());
    return started === undefined ? result : { ...result, started };
  };

  const runLimited = async <Result>(target: ResolvedModel, signal: AbortSignal | undefined, timeoutMs: number, work: (abortSignal: AbortSignal) => Promise<Result>): Promise<{ ok: true; value: Result; seconds: number } | { ok: false; failure: Failure; seconds: number }> => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new CallTimeout(timeoutMs)), timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    const started = performance.now();
    try {
      const value = await work(combined);
      return { ok: true, value, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      const seconds = (performance.now() - started) / 1000;
      if (signal?.aborted) return { ok: false, failure: { kind: 'cancelled', error, message: 'cancelled' }, seconds };
      if (timeout.signal.aborted) return { ok: false, failure: { kind: 'timeout', error: timeout.signal.reason, message: describeCause(timeout.signal.reason) }, seconds };
      const { NoObjectGeneratedError } = await loadAiSdk();
      if (NoObjectGeneratedError.isInstance(error)) {
        const cause = error.cause === undefined ? error.message : `${error.message} ${describeCause(error.cause)}`;
        return { ok: false, failure: { kind: 'invalid_output', error, message: cause.slice(0, 800), ...(error.text === undefined ? {} : { text: error.text }) }, seconds };
      }
      const statusCode = statusCodeOf(error);
      return { ok: false, failure: { kind: isRetryableProviderError(error) ? 'retryable' : 'fatal', error, message: describeCause(error), ...(statusCode === undefined ? {} : { statusCode }) }, seconds };
    } finally {
      clearTimeout(timer);
    }
  };

  const baseRow = (target: ResolvedModel, purpose: LlmPurpose, context: LlmCallContext | undefined): Pick<LlmCallRow, 'taskId' | 'step' | 'purpose' | 'provider' | 'model'> => ({
    taskId: context?.taskId,
    step: context?.step,
    purpose,
    provider: target.provider,
    model: target.model,
  });

  const tokenUsage = (usage: { inputTokens?: number | undefined; outputTokens?: number | undefined } | undefined): { inputTokens: number; outputTokens: number } => ({
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
  });

  /** One model of the chain: retries, Retry-After, one repair round. Throws the last Failure. */
  const generateWithModel = async <T>(target: ResolvedModel, request: GenerateStructuredRequest<T>, purpose: GenerationPurpose, attempts: string[]): Promise<{ object: T; raw: unknown; usage: { inputTokens: number; outputTokens: number } }> => {
    const timeoutMs = request.timeoutMs ?? config.llmTimeoutMs;
    let repair: { text: string; message: string } | undefined;
    let repaired = false;
    const retryState: { retries: number; firstFailureAt: number | undefined } = { retries: 0, firstFailureAt: undefined };
    const sdk = await prepare(target);
    const { generateText, NoObjectGeneratedError, Output } = sdk;
    for (let attempt = 1; ; attempt += 1) {
      const messages: ModelMessage[] | undefined = repair
        ? [
            { role: 'user', content: request.prompt },
            { role: 'assistant', content: repair.text },
            { role: 'user', content: `Your previous answer did not match the required JSON schema: ${repair.message}\nAnswer again with only one JSON value that matches the schema exactly.` },
          ]
        : undefined;
      const outcome = await withLimits(target, request.signal, timeoutMs, { ...baseRow(target, purpose, request.context), attempt }, async (abortSignal) => {
        try {
          const answer = await generateText({
            model: await languageModel(target.id),
            system: request.instructions,
            ...(messages ? { messages } : { prompt: request.prompt }),
            output: Output.object({ schema: outputSchema(sdk, request.schema) }),
            maxRetries: 0,
            abortSignal,
          });
          return { output: answer.output as T, text: answer.text, usage: answer.usage };
        } catch (error) {
          // A right answer in a code fence or a sentence: taken, rather than failed for its wrapping.
          const salvaged = NoObjectGeneratedError.isInstance(error) && error.text !== undefined ? await salvageStructuredAnswer(error.text, request.schema) : undefined;
          if (!salvaged) throw error;
          return { output: salvaged.value, text: salvaged.json, usage: (error as InstanceType<typeof NoObjectGeneratedError>).usage };
        }
      });
      if (outcome.ok) {
        const usage = tokenUsage(outcome.value.usage);
        await record({ ...baseRow(target, purpose, request.context), ...usage, latencyMs: outcome.seconds * 1000, cacheHit: false, attempt, costUsd: prices.cost(target.provider, target.model, usage.inputTokens, usage.outputTokens) }, outcome.seconds, outcome.started);
        let raw: unknown = outcome.value.output;
        try {
          raw = JSON.parse(outcome.value.text);
        } catch {
          // Some providers wrap JSON in prose or fences; the validated output is the next best thing to cache.
        }
        // A NUL or a lone surrogate in the answer goes before anything stores it (a checkpoint, a
        // row, this cache): PostgreSQL refuses the whole value for one stray character.
        return { object: storableCopy(outcome.value.output as T), raw: storableCopy(raw), usage };
      }
      const failure = outcome.failure;
      const failedUsage = NoObjectGeneratedError.isInstance(failure.error) ? tokenUsage(failure.error.usage) : { inputTokens: 0, outputTokens: 0 };
      const code: LlmErrorCode = failure.kind === 'invalid_output' ? 'llm_invalid_output' : failure.kind === 'cancelled' ? 'llm_cancelled' : 'llm_call_failed';
      await record(
        {
          ...baseRow(target, purpose, request.context),
          ...failedUsage,
          latencyMs: outcome.seconds * 1000,
          cacheHit: false,
          attempt,
          costUsd: prices.cost(target.provider, target.model, failedUsage.inputTokens, failedUsage.outputTokens),
          errorCode: code,
          error: failure.message,
        },
        outcome.seconds,
        outcome.started,
      );
      if (failure.kind === 'cancelled') throw cancelledError(request.signal as AbortSignal, target);
      attempts.push(`${target.id} attempt ${attempt}: ${failure.kind === 'timeout' ? 'timeout: ' : ''}${failure.message}`);
      if (failure.kind === 'invalid_output' && !repaired) {
        // Feed the validation error back once; a second invalid answer moves on.
        repaired = true;
        repair = { text: failure.text ?? '', message: failure.message };
        log.info({ model: target.id, task_id: request.context?.taskId, step: request.context?.step }, 'LLM output failed schema validation; asking the model to repair it once');
        continue;
      }
      if (failure.kind === 'retryable' || failure.kind === 'timeout') {
        retryState.firstFailureAt ??= Date.now();
        if (await waitForRetry(target, failure, retryState as { retries: number; firstFailureAt: number }, request, attempts)) continue;
      }
      throw failure;
    }
  };

  const gateway: LlmGateway = {
    isOffline: () => offline,

    async warmUp() {
      const purposes: LlmPurpose[] = ['generation', 'judging', 'research', 'embedding'];
      // The metrics too: prom-client and OpenTelemetry's API took 30 ms of the event loop at the
      // end of a fresh process's first model call (a profile of bench:content's first run).
      const loading: Array<Promise<unknown>> = [loadAiSdk(), llmMetrics()];
      let overHttp = false;
      for (const purpose of purposes) {
        const defaultId = defaultModelFor(purpose, config, configured);
        // Checked at start-up (refuseUnusableDefaultModels); a warm-up never throws.
        let target: ResolvedModel;
        try {
          target = resolver.resolve(defaultId, defaultId);
        } catch {
          continue;
        }
        // The offline model is in this process already; its word data loads when a call needs it.
        if (target.provider === 'offline') continue;
        overHttp = true;
        loading.push(purpose === 'embedding' ? providers.embeddingModel(target.id) : languageModel(target.id));
      }
      // Node loads its built-in fetch (undici) on the first touch of `Headers` (or the first
      // fetch): 18-20 ms of CPU inside the process's first model call, in a profile of
      // bench:content's first run. Touching the global loads it now.
      if (overHttp) {
        void globalThis.Headers;
        loading.push(loadAiSdk().then(warmSchemaConversion));
      }
      await Promise.all(loading.map((load) => load.catch((error: unknown) => log.debug({ err: error }, 'loading an LLM provider ahead of its first call failed; the call will report why'))));
    },

    defaultModel: (purpose) => defaultModelFor(purpose, config, configured),

    resolveModel(purpose, model) {
      const defaultId = defaultModelFor(purpose, config, configured);
      return resolver.resolve(model ?? defaultId, defaultId).id;
    },

    async generateStructured<T>(request: GenerateStructuredRequest<T>): Promise<GenerateStructuredResult<T>> {
      const purpose = request.purpose ?? 'generation';
      const defaultId = defaultModelFor(purpose, config, configured);
      if (request.signal?.aborted) throw cancelledError(request.signal, undefined);
      const primary = resolver.resolve(request.model ?? defaultId, defaultId);
      const chain: ResolvedModel[] = [primary];
      for (const id of [...(request.fallbackModels ?? []), ...configuredFallbacks]) {
        try {
          const fallback = resolver.resolve(id, defaultId);
          if (!chain.some((entry) => entry.id === fallback.id)) chain.push(fallback);
        } catch (error) {
          log.warn({ err: error, model: id }, 'skipping an unusable fallback model');
        }
      }
      // Only the response cache's key needs the JSON Schema (0.85 ms of CPU a call in the same
      // profile): not converted when no model of the chain caches.
      let jsonSchema: unknown;
      const attempts: string[] = [];
      let lastFailure: Failure | undefined;
      let lastTarget = primary;
      for (const target of chain) {
        lastTarget = target;
        const useCache = cacheEnabled(target, request.cache);
        if (useCache) jsonSchema ??= await outputSchema(await loadAiSdk(), request.schema).jsonSchema;
        const key = useCache ? responseCacheKey({ model: target.id, jsonSchema, instructions: request.instructions, prompt: request.prompt }) : undefined;
        if (key) {
          const started = performance.now();
          const hit = await readCachedResponse(pool, key).catch((error: unknown) => {
            log.warn({ err: error }, 'LLM response cache read failed; calling the model');
            return undefined;
          });
          if (hit) {
            const parsed = request.schema.safeParse(hit.response);
            if (parsed.success) {
              await record({ ...baseRow(target, purpose, request.context), inputTokens: 0, outputTokens: 0, latencyMs: performance.now() - started, cacheHit: true, attempt: 1, costUsd: 0 }, undefined);
              return { object: parsed.data, model: target.id, cached: true, usage: { inputTokens: 0, outputTokens: 0 } };
            }
            await deleteCachedResponse(pool, key).catch(() => {});
          }
        }
        try {
          const result = await generateWithModel(target, request, purpose, attempts);
          if (key) {
            await writeCachedResponse(pool, key, target.id, { response: result.raw, ...result.usage }).catch((error: unknown) => log.warn({ err: error }, 'LLM response cache write failed'));
          }
          if (target !== primary) log.warn({ requested: primary.id, used: target.id }, 'LLM call served by a fallback model');
          return { object: result.object, model: target.id, cached: false, usage: result.usage };
        } catch (error) {
          if (!(error && typeof error === 'object' && 'kind' in error)) throw error;
          lastFailure = error as Failure;
          log.warn({ model: target.id, reason: lastFailure.message }, chain.indexOf(target) < chain.length - 1 ? 'LLM model failed; trying the next fallback model' : 'LLM model failed');
        }
      }
      const failure = lastFailure as Failure;
      const code: LlmErrorCode = failure.kind === 'invalid_output' ? 'llm_invalid_output' : 'llm_call_failed';
      const what = failure.kind === 'invalid_output' ? 'returned output that does not match the schema' : failure.kind === 'timeout' ? 'timed out' : 'failed';
      throw new LlmError(code, `LLM ${purpose} call ${what}: provider ${lastTarget.provider}, model ${lastTarget.model}: ${failure.message}${chain.length > 1 ? ` (tried ${chain.map((entry) => entry.id).join(', ')})` : ''}`, {
        details: { provider: lastTarget.provider, model: lastTarget.model, ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }), attempts },
        // A refused request (401, 400) will be refused again; anything else may pass later.
        retryable: failure.kind !== 'fatal',
        cause: failure.error,
      });
    },

    async embedTexts(request: EmbedTextsRequest): Promise<EmbedTextsResult> {
      const defaultId = defaultModelFor('embedding', config, configured);
      if (request.signal?.aborted) throw cancelledError(request.signal, undefined);
      // No fallback chain: vectors from different models are not comparable with each other.
      const target = resolver.resolve(request.model ?? defaultId, defaultId);
      if (request.texts.length === 0) return { embeddings: [], model: target.id, version: null, usage: { tokens: 0 } };
      const timeoutMs = request.timeoutMs ?? config.llmTimeoutMs;
      const retryState: { retries: number; firstFailureAt: number | undefined } = { retries: 0, firstFailureAt: undefined };
      const { embedMany } = await prepare(target);
      for (let attempt = 1; ; attempt += 1) {
        const outcome = await withLimits(target, request.signal, timeoutMs, { ...baseRow(target, 'embedding', request.context), attempt }, async (abortSignal) =>
          embedMany({ model: await providers.embeddingModel(target.id), values: request.texts, maxRetries: 0, abortSignal }),
        );
        if (outcome.ok) {
          const tokens = outcome.value.usage.tokens ?? 0;
          await record({ ...baseRow(target, 'embedding', request.context), inputTokens: tokens, outputTokens: 0, latencyMs: outcome.seconds * 1000, cacheHit: false, attempt, costUsd: prices.cost(target.provider, target.model, tokens, 0) }, outcome.seconds, outcome.started);
          const version = outcome.value.providerMetadata?.offline?.embeddingVersion;
          return { embeddings: outcome.value.embeddings, model: target.id, version: typeof version === 'string' ? version : null, usage: { tokens } };
        }
        const failure = outcome.failure;
        await record({ ...baseRow(target, 'embedding', request.context), inputTokens: 0, outputTokens: 0, latencyMs: outcome.seconds * 1000, cacheHit: false, attempt, costUsd: 0, errorCode: failure.kind === 'cancelled' ? 'llm_cancelled' : 'llm_call_failed', error: failure.message }, outcome.seconds, outcome.started);
        if (failure.kind === 'cancelled') throw cancelledError(request.signal as AbortSignal, target);
        if (failure.kind === 'retryable' || failure.kind === 'timeout') {
          retryState.firstFailureAt ??= Date.now();
          if (await waitForRetry(target, failure, retryState as { retries: number; firstFailureAt: number }, request, undefined)) continue;
        }
        throw new LlmError('llm_call_failed', `LLM embedding call ${failure.kind === 'timeout' ? 'timed out' : 'failed'}: provider ${target.provider}, model ${target.model}: ${failure.message}`, {
          details: { provider: target.provider, model: target.model, ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }) },
          retryable: failure.kind !== 'fatal',
          cause: failure.error,
        });
      }
    },

    async usageForTask(taskId) {
      // Writes run in call order, so the chain as it stands now holds every row of this task's
      // finished calls; rows other tasks queue meanwhile are not waited for.
      await callRows.written();
      // One read at the end of every job; the sweep (a write) only when a row of this task's was
      // cut off by a process that died, and then the rows are read again as the sweep left them.
      const read = await usageForTask(pool, taskId);
      if (read.lapsed === 0) return read.usage;
      await sweepInterruptedLlmCalls(pool).catch((error: unknown) => log.warn({ err: error }, 'sweeping interrupted LLM calls failed'));
      return (await usageForTask(pool, taskId)).usage;
    },

    flushUsage,

    listModels: () => listModels({ config, configured, defaultModel: (purpose) => defaultModelFor(purpose, config, configured), fallbackModels: configuredFallbacks }),
  };
  return gateway;
}
