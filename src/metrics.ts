/**
 * taskloom's Prometheus metrics, on prom-client's default registry: the one `/metrics` serves,
 * which the LLM gateway (llm/metrics.ts) and the process defaults register on too.
 *
 * Counters count what happened in this process (submits it accepted, outcomes its workers
 * recorded), so summing over processes gives the cluster's totals. The queue gauges are read
 * from the database at scrape time and are the same in every process: aggregate them with max.
 */
import client from 'prom-client';
import type { Engine } from './engine/index.ts';
import type { Pool } from './db/pool.ts';

export interface TaskloomMetrics {
  submitted: client.Counter<'task_type'>;
  completed: client.Counter<'task_type'>;
  failed: client.Counter<'task_type'>;
  cancelled: client.Counter<'task_type'>;
  retries: client.Counter<'task_type'>;
  duration: client.Histogram<'task_type' | 'status'>;
  queueDepth: client.Gauge<'queue'>;
  running: client.Gauge<'queue'>;
  workerActive: client.Gauge;
  webhookDeliveries: client.Counter<'outcome'>;
  webhookDuration: client.Histogram;
  fanoutLatency: client.Histogram<'transport'>;
  streamClients: client.Gauge<'transport'>;
  httpRequests: client.Counter<'method' | 'route' | 'status_code'>;
  httpDuration: client.Histogram<'method' | 'route'>;
  redisPublished: client.Counter<'outcome'>;
}

let metrics: TaskloomMetrics | undefined;
/** Sources the scrape-time gauges read from (the engines instrumented in this process). */
const gaugeSources = new Set<{ pool: Pool; engine: Engine }>();

function metric<Metric>(name: string, create: () => Metric): Metric {
  return (client.register.getSingleMetric(name) as Metric | undefined) ?? create();
}

export function taskloomMetrics(): TaskloomMetrics {
  if (metrics) return metrics;
  if (!client.register.getSingleMetric('process_cpu_user_seconds_total')) client.collectDefaultMetrics();
  const counter = <Label extends string>(name: string, help: string, labelNames: Label[]): client.Counter<Label> =>
    metric(name, () => new client.Counter({ name, help, labelNames }));
  metrics = {
    submitted: counter('taskloom_tasks_submitted_total', 'Tasks accepted by submit in this process, by task type (idempotent repeats excluded).', ['task_type']),
    completed: counter('taskloom_tasks_completed_total', 'Tasks this process\'s workers completed, by task type.', ['task_type']),
    failed: counter('taskloom_tasks_failed_total', 'Tasks this process\'s workers failed for good (attempts spent or permanent error), by task type.', ['task_type']),
    cancelled: counter('taskloom_tasks_cancelled_total', 'Tasks cancelled: running ones stopped by this process\'s workers, queued ones cancelled through this process\'s API.', ['task_type']),
    retries: counter('taskloom_task_retries_total', 'Attempts that failed and were scheduled again, by task type.', ['task_type']),
    duration: metric('taskloom_task_duration_seconds', () => new client.Histogram({
      name: 'taskloom_task_duration_seconds',
      help: 'Duration of a task\'s final attempt, by task type and outcome.',
      labelNames: ['task_type', 'status'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800],
    })),
    queueDepth: metric('taskloom_queue_depth', () => new client.Gauge({
      name: 'taskloom_queue_depth',
      help: 'Tasks waiting (queued or retrying) per queue, read from the database at scrape time.',
      labelNames: ['queue'],
      async collect() {
        await collectQueueGauges();
      },
    })),
    running: metric('taskloom_tasks_running', () => new client.Gauge({
      name: 'taskloom_tasks_running',
      help: 'Tasks running per queue, read from the database at scrape time.',
      labelNames: ['queue'],
      async collect() {
        await collectQueueGauges();
      },
    })),
    workerActive: metric('taskloom_worker_active_tasks', () => new client.Gauge({
      name: 'taskloom_worker_active_tasks',
      help: 'Tasks the workers in this process are running now.',
      collect() {
        let active = 0;
        for (const source of gaugeSources) for (const worker of source.engine.workers) active += worker.activeCount;
        this.set(active);
      },
    })),
    webhookDeliveries: counter('taskloom_webhook_deliveries_total', 'Webhook POSTs by outcome: delivered, failed (will retry), dropped (last attempt failed), refused (target not allowed).', ['outcome']),
    webhookDuration: metric('taskloom_webhook_delivery_duration_seconds', () => new client.Histogram({
      name: 'taskloom_webhook_delivery_duration_seconds',
      help: 'Time one webhook POST took, whatever its outcome.',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    })),
    fanoutLatency: metric('taskloom_event_fanout_seconds', () => new client.Histogram({
      name: 'taskloom_event_fanout_seconds',
      help: 'From an event\'s created_at to its write on a live WebSocket or SSE stream (replayed events excluded).',
      labelNames: ['transport'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    })),
    streamClients: metric('taskloom_stream_clients', () => new client.Gauge({ name: 'taskloom_stream_clients', help: 'Open WebSocket and SSE streams in this process.', labelNames: ['transport'] })),
    httpRequests: counter('taskloom_http_requests_total', 'HTTP requests by method, route pattern and status code.', ['method', 'route', 'status_code']),
    httpDuration: metric('taskloom_http_request_duration_seconds', () => new client.Histogram({
      name: 'taskloom_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern (streams excluded).',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    })),
    redisPublished: counter('taskloom_redis_events_published_total', 'Events published to Redis by the event sink, by outcome (published, failed).', ['outcome']),
  };
  return metrics;
}

/**
 * Both queue gauges are filled by one query. prom-client collects metrics in parallel, so each
 * gauge's collect joins the query in flight instead of reading what the last scrape left.
 */
let queueGaugesInFlight: Promise<void> | undefined;

function collectQueueGauges(): Promise<void> {
  queueGaugesInFlight ??= readQueueGauges().finally(() => {
    queueGaugesInFlight = undefined;
  });
  return queueGaugesInFlight;
}

async function readQueueGauges(): Promise<void> {
  const current = taskloomMetrics();
  const depth = new Map<string, number>();
  const running = new Map<string, number>();
  const source = [...gaugeSources].at(-1);
  if (!source) return;
  try {
    const result = await source.pool.query<{ queue: string; status: string; count: number }>(
      `SELECT queue, 'queued' AS status, count(*)::int AS count FROM task_queue GROUP BY queue
       UNION ALL SELECT t.queue, 'running', count(*)::int FROM task_leases l JOIN tasks t ON t.id = l.task_id GROUP BY t.queue`,
    );
    for (const row of result.rows) {
      const target = row.status === 'running' ? running : depth;
      target.set(row.queue, (target.get(row.queue) ?? 0) + row.count);
    }
  } catch {
    // The database is unreachable: keep the last values rather than fail the whole scrape.
    return;
  }
  current.queueDepth.reset();
  current.running.reset();
  for (const queue of new Set([...depth.keys(), ...running.keys()])) {
    current.queueDepth.set({ queue }, depth.get(queue) ?? 0);
    current.running.set({ queue }, running.get(queue) ?? 0);
  }
}

/**
 * Counts the engine's submits and outcomes, and reads queue gauges from its database.
 * Returns a function that detaches everything.
 */
export function instrumentEngine(engine: Engine): () => void {
  const current = taskloomMetrics();
  const source = { pool: engine.pool, engine };
  gaugeSources.add(source);
  const onSubmitted = (task: { task_type: string }): void => {
    current.submitted.inc({ task_type: task.task_type });
  };
  const onSettled: Parameters<Engine['hooks']['settled']['add']>[0] = (settlements) => {
    for (const settlement of settlements) {
      const taskType = settlement.task.task_type;
      const kind = settlement.outcome.kind;
      if (kind === 'retry') current.retries.inc({ task_type: taskType });
      if (kind !== 'completed' && kind !== 'failed' && kind !== 'cancelled') continue;
      current[kind].inc({ task_type: taskType });
      current.duration.observe({ task_type: taskType, status: kind }, settlement.durationMs / 1000);
    }
  };
  engine.hooks.submitted.add(onSubmitted);
  engine.hooks.settled.add(onSettled);
  return () => {
    engine.hooks.submitted.delete(onSubmitted);
    engine.hooks.settled.delete(onSettled);
    gaugeSources.delete(source);
  };
}

/** The default registry's exposition: taskloom, LLM gateway and process metrics together. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  taskloomMetrics();
  return { contentType: client.register.contentType, body: await client.register.metrics() };
}
