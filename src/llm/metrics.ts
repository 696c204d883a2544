/**
 * Prometheus metrics of the gateway, on prom-client's default registry (the one `/metrics`
 * serves). Created once per process, at its first LLM call or as a worker warms its gateway up,
 * and shared by every gateway instance: prom-client is imported then, so a process that builds a
 * gateway without calling a model does not load it.
 */
import type client from 'prom-client';

export interface LlmMetrics {
  /** llm_calls_total{provider, model, purpose, outcome}: outcome is success, error or cache_hit. */
  calls: client.Counter<'provider' | 'model' | 'purpose' | 'outcome'>;
  /** llm_tokens_total{provider, model, direction}: direction is input or output. */
  tokens: client.Counter<'provider' | 'model' | 'direction'>;
  /** llm_call_duration_seconds{provider, model, outcome}: one provider request, retries excluded. */
  duration: client.Histogram<'provider' | 'model' | 'outcome'>;
}

let metrics: Promise<LlmMetrics> | undefined;

export function llmMetrics(): Promise<LlmMetrics> {
  metrics ??= createMetrics();
  return metrics;
}

async function createMetrics(): Promise<LlmMetrics> {
  const { default: client } = await import('prom-client');
  const existing = <Metric>(name: string): Metric | undefined => client.register.getSingleMetric(name) as Metric | undefined;
  return {
    calls:
      existing<LlmMetrics['calls']>('llm_calls_total') ??
      new client.Counter({ name: 'llm_calls_total', help: 'LLM gateway calls by provider, model, purpose and outcome (success, error, cache_hit).', labelNames: ['provider', 'model', 'purpose', 'outcome'] }),
    tokens:
      existing<LlmMetrics['tokens']>('llm_tokens_total') ??
      new client.Counter({ name: 'llm_tokens_total', help: 'Tokens spent by provider, model and direction (input, output). Cache hits spend none.', labelNames: ['provider', 'model', 'direction'] }),
    duration:
      existing<LlmMetrics['duration']>('llm_call_duration_seconds') ??
      new client.Histogram({
        name: 'llm_call_duration_seconds',
        help: 'Duration of one LLM provider request in seconds.',
        labelNames: ['provider', 'model', 'outcome'],
        buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      }),
  };
}
