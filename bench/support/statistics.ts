/** Small helpers every benchmark prints with: percentiles, rounding, progress lines on stderr. */

/** The value at `fraction` (0.5 for the median) of `values`, nearest-rank; 0 for no values. */
export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  // A typed array sorts numerically and fast: the fan-out benchmark has 200,000 samples.
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Two decimals, as the JSON lines print them. */
export const round = (value: number): number => Math.round(value * 100) / 100;

export interface LatencyFigures {
  p50: number;
  p99: number;
  samples: number;
}

/** p50 and p99 of latency samples in ms, as the engine benchmarks print them. */
export function latencyFigures(latencies: number[]): LatencyFigures {
  return { p50: round(percentile(latencies, 0.5)), p99: round(percentile(latencies, 0.99)), samples: latencies.length };
}

export interface DrainFigures {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  /** Rate of queueing the backlog (submits in flight together). */
  submitsPerSecond: number;
}

/** A drain's rates from its task count, its drain time and the time its backlog took to queue. */
export function drainFigures(tasks: number, seconds: number, submitSeconds: number): DrainFigures {
  return { tasks, seconds: round(seconds), tasksPerSecond: Math.round(tasks / seconds), submitsPerSecond: Math.round(tasks / submitSeconds) };
}

/** A progress line on stderr, so stdout keeps only the final JSON line. */
export const log = (message: string): void => void process.stderr.write(`${message}\n`);
