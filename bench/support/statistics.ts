/** Small helpers every benchmark prints with: percentiles, rounding, progress lines on stderr. */
import { cpuPerTask, cpuSnapshot, type CpuPerTask, type CpuSnapshot } from './process-cpu.ts';

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
  /** From starting the worker to the last task's completion. */
  seconds: number;
  tasksPerSecond: number;
  /** Rate of queueing the backlog (submits in flight together). */
  submitsPerSecond: number;
  /** From starting the worker to the first task's start: the worker's start-up, connections included. */
  firstStartMs: number;
  /** The rate once a fifth of the tasks had completed, the start-up and the ramp behind it. */
  steadyTasksPerSecond: number;
  /** CPU per task over the drain: this process's, and the server's when it runs on this machine. */
  cpu: CpuPerTask;
}

/**
 * Marks along a drain, timed from `begin` (the worker's start): the first task's start and the
 * completion that makes a fifth of the tasks. A drain of 5,000 takes about half a second here, and
 * a worker's start-up is a tenth of that on PostgreSQL (three connections to open, each loading
 * the catalog and planning its first statements), against a few milliseconds on Redis, so the
 * whole-drain rate mixes the two; the steady rate shows the engine alone.
 */
export class DrainTimeline {
  readonly #tasks: number;
  readonly #serverPid: number | undefined;
  #begin = 0;
  #cpuBefore: CpuSnapshot | undefined;
  #cpuAfter: CpuSnapshot | undefined;
  #firstStart: number | undefined;
  #fifthCompleted: number | undefined;
  #allCompleted: number | undefined;
  #completed = 0;

  /** `serverPid`: the server's process on this machine, whose CPU the drain's figures include. */
  constructor(tasks: number, serverPid?: number) {
    this.#tasks = tasks;
    this.#serverPid = serverPid;
  }

  /** Just before the worker starts. */
  async begin(): Promise<void> {
    this.#cpuBefore = await cpuSnapshot(this.#serverPid);
    this.#begin = performance.now();
  }

  /** As soon as every task completed, before the worker stops. */
  async end(): Promise<void> {
    this.#cpuAfter = await cpuSnapshot(this.#serverPid);
  }

  started(): void {
    this.#firstStart ??= performance.now();
  }

  completed(count = 1): void {
    this.#completed += count;
    if (this.#completed >= Math.ceil(this.#tasks / 5)) this.#fifthCompleted ??= performance.now();
    if (this.#completed >= this.#tasks) this.#allCompleted ??= performance.now();
  }

  /** The drain's figures, given the time its backlog took to queue; after `end`. */
  figures(submitSeconds: number): DrainFigures {
    const end = this.#allCompleted ?? performance.now();
    const seconds = (end - this.#begin) / 1000;
    const steadyTasks = this.#tasks - Math.ceil(this.#tasks / 5);
    const steadySeconds = (end - (this.#fifthCompleted ?? this.#begin)) / 1000;
    return {
      tasks: this.#tasks,
      seconds: round(seconds),
      tasksPerSecond: Math.round(this.#tasks / seconds),
      submitsPerSecond: Math.round(this.#tasks / submitSeconds),
      firstStartMs: round((this.#firstStart ?? end) - this.#begin),
      steadyTasksPerSecond: Math.round(steadyTasks / steadySeconds),
      cpu: cpuPerTask(this.#cpuBefore!, this.#cpuAfter!, this.#tasks),
    };
  }
}

/** A progress line on stderr, so stdout keeps only the final JSON line. */
export const log = (message: string): void => void process.stderr.write(`${message}\n`);
