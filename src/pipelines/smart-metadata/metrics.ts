/**
 * Seed 003's Prometheus metrics, with its names, labels and buckets, on prom-client's default
 * registry (the one `/metrics` serves).
 *
 * Every value is read from PostgreSQL at scrape time, never counted in process memory:
 *
 * - Tasks run in `taskloom worker` processes, which serve no /metrics; a counter incremented
 *   there would never be scraped. Counters and histograms are aggregated from
 *   `project_meta_generations` (one row per finished generation, written by whichever process ran
 *   it), so the process serving /metrics reports the whole cluster's work. Summing the series of
 *   several API processes would count it twice: aggregate them with max, like taskloom's queue
 *   gauges.
 * - The in-progress and queue gauges count tasks in the database, so they cannot drift or go
 *   negative when a worker dies between an increment and its decrement (the seed's bug).
 *
 * One query serves a scrape: the metrics' collect callbacks join the read in flight.
 */
import client from 'prom-client';
import { countActiveTasks, type Pool } from '../../kit/index.ts';
import { generateMissingMetadataType, generateProjectMetaType } from './schemas.ts';

export const durationBuckets = [0.1, 0.5, 1, 2, 5, 10, 30, 60];
export const contentLengthBuckets = [100, 500, 1000, 2000, 5000, 10000];
export const tagsCountBuckets = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const summaryLengthBuckets = [10, 50, 100, 200, 500, 1000];

/** The task types whose runs generate metadata (the nightly one generates project after project). */
const generatingTaskTypes = [generateProjectMetaType, generateMissingMetadataType];

interface HistogramSnapshot {
  /** Cumulative counts per bucket bound, in bucket order. */
  buckets: number[];
  sum: number;
  count: number;
}

interface Snapshot {
  generated: Array<{ status: string; model_used: string; project_type: string; count: number }>;
  failures: Array<{ error_type: string; model_used: string; count: number }>;
  inProgress: number;
  queueSize: number;
  histograms: Record<HistogramName, HistogramSnapshot>;
}

type HistogramName = 'duration' | 'content' | 'tags' | 'summary';

const histogramColumns: Record<HistogramName, { column: string; buckets: number[] }> = {
  duration: { column: 'duration_seconds', buckets: durationBuckets },
  content: { column: 'content_length_chars', buckets: contentLengthBuckets },
  tags: { column: 'tags_count', buckets: tagsCountBuckets },
  summary: { column: 'summary_length_chars', buckets: summaryLengthBuckets },
};

const sources: Pool[] = [];

/** Makes `/metrics` in this process read from `pool`. Returns a function that detaches it. */
export function registerMetricsSource(pool: Pool): () => void {
  sources.push(pool);
  ensureMetrics();
  return () => {
    const index = sources.lastIndexOf(pool);
    if (index >= 0) sources.splice(index, 1);
  };
}

let inFlight: Promise<Snapshot | undefined> | undefined;

function snapshot(): Promise<Snapshot | undefined> {
  inFlight ??= readSnapshot().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function readSnapshot(): Promise<Snapshot | undefined> {
  const pool = sources.at(-1);
  if (!pool) return undefined;
  const histogramSelects = Object.entries(histogramColumns).map(([name, { column, buckets }]) => [
    ...buckets.map((bound, index) => `count(*) FILTER (WHERE ${column} <= ${bound}) AS "${name}_${index}"`),
    `coalesce(sum(${column}), 0)::float8 AS "${name}_sum"`,
    `count(${column})::int AS "${name}_count"`,
  ].join(', ')).join(', ');
  try {
    const [generated, failures, histograms, tasks] = await Promise.all([
      pool.query<{ status: string; model_used: string; project_type: string; count: number }>(
        'SELECT status, model_used, project_type, count(*)::int AS count FROM project_meta_generations GROUP BY 1, 2, 3',
      ),
      pool.query<{ error_type: string; model_used: string; count: number }>(
        "SELECT coalesce(error_type, 'unknown') AS error_type, model_used, count(*)::int AS count FROM project_meta_generations WHERE status = 'failure' GROUP BY 1, 2",
      ),
      pool.query<Record<string, number>>(`SELECT ${histogramSelects} FROM project_meta_generations`),
      // The engine's count: the only place that knows what is queued and running in every process.
      countActiveTasks(pool, generatingTaskTypes),
    ]);
    const row = histograms.rows[0] ?? {};
    const histogramOf = (name: HistogramName): HistogramSnapshot => ({
      buckets: histogramColumns[name].buckets.map((_bound, index) => Number(row[`${name}_${index}`] ?? 0)),
      sum: Number(row[`${name}_sum`] ?? 0),
      count: Number(row[`${name}_count`] ?? 0),
    });
    const running = tasks.running;
    return {
      generated: generated.rows,
      failures: failures.rows,
      inProgress: running,
      // Waiting too: a generation sleeping out an edit's debounce, a back-fill paused for the
      // provider's rate, holds no slot but is work still to do.
      queueSize: running + tasks.queued + tasks.retrying + tasks.waiting,
      histograms: { duration: histogramOf('duration'), content: histogramOf('content'), tags: histogramOf('tags'), summary: histogramOf('summary') },
    };
  } catch {
    // The database is unreachable: this scrape shows the last values rather than failing whole.
    return undefined;
  }
}

/**
 * A histogram whose buckets are computed elsewhere (here: by SQL). prom-client's Histogram can
 * only observe one value at a time, so this implements the registry's metric interface itself.
 */
class SnapshotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  #buckets: number[];
  #read: () => Promise<HistogramSnapshot | undefined>;
  #last: HistogramSnapshot;

  constructor(options: { name: string; help: string; buckets: number[]; read: () => Promise<HistogramSnapshot | undefined> }) {
    this.name = options.name;
    this.help = options.help;
    this.#buckets = options.buckets;
    this.#read = options.read;
    this.#last = { buckets: options.buckets.map(() => 0), sum: 0, count: 0 };
  }

  async get(): Promise<client.MetricObjectWithValues<client.MetricValueWithName<string>>> {
    this.#last = (await this.#read()) ?? this.#last;
    const values: Array<client.MetricValueWithName<string>> = this.#buckets.map((bound, index) => ({
      metricName: `${this.name}_bucket`, labels: { le: bound }, value: this.#last.buckets[index] ?? 0,
    }));
    values.push(
      { metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.#last.count },
      { metricName: `${this.name}_sum`, labels: {}, value: this.#last.sum },
      { metricName: `${this.name}_count`, labels: {}, value: this.#last.count },
    );
    return { name: this.name, help: this.help, type: 'histogram' as unknown as client.MetricType, values, aggregator: 'sum', collect: () => undefined };
  }

  reset(): void {
    this.#last = { buckets: this.#buckets.map(() => 0), sum: 0, count: 0 };
  }
}

function ensureMetrics(): void {
  if (client.register.getSingleMetric('project_meta_generated_total')) return;
  new client.Counter({
    name: 'project_meta_generated_total',
    help: 'Metadata generations by outcome (success, failure), the model that answered and the project type; from project_meta_generations.',
    labelNames: ['status', 'model_used', 'project_type'],
    async collect() {
      const current = await snapshot();
      if (!current) return;
      this.reset();
      for (const row of current.generated) this.inc({ status: row.status, model_used: row.model_used, project_type: row.project_type }, row.count);
    },
  });
  new client.Counter({
    name: 'project_meta_generation_failures_total',
    help: 'Failed metadata generations (after their last attempt) by error type and model.',
    labelNames: ['error_type', 'model_used'],
    async collect() {
      const current = await snapshot();
      if (!current) return;
      this.reset();
      for (const row of current.failures) this.inc({ error_type: row.error_type, model_used: row.model_used }, row.count);
    },
  });
  new client.Gauge({
    name: 'project_meta_generation_in_progress',
    help: 'Metadata tasks running now in any process (generate_project_meta and the nightly back-fill), counted in the database.',
    async collect() {
      const current = await snapshot();
      if (current) this.set(current.inProgress);
    },
  });
  new client.Gauge({
    name: 'project_meta_generation_queue_size',
    help: 'Metadata tasks queued, retrying or running in any process, counted in the database.',
    async collect() {
      const current = await snapshot();
      if (current) this.set(current.queueSize);
    },
  });
  const histogram = (name: string, help: string, key: HistogramName): void => {
    client.register.registerMetric(new SnapshotHistogram({ name, help, buckets: histogramColumns[key].buckets, read: async () => (await snapshot())?.histograms[key] }) as unknown as client.Metric);
  };
  histogram('project_meta_generation_duration_seconds', 'Time one metadata generation took (loading the project, the model call, validation), successes and failures.', 'duration');
  histogram('project_meta_content_length_chars', 'Length of the project text sent for analysis (at most 4,000 characters).', 'content');
  histogram('project_meta_tags_count', 'Tags per stored metadata row.', 'tags');
  histogram('project_meta_summary_length_chars', 'Length of the stored content summary.', 'summary');
}
