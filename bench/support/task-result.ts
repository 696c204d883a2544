/**
 * What the benchmarks' no-op tasks return, the same for taskloom and BullMQ: nothing by default,
 * or with BENCH_RESULT_BYTES a generated article of about that many bytes (JSON-encoded), for
 * drains shaped like the content pipelines' tasks, whose results are kilobytes of text.
 */
const sentence = 'A generated sentence with "quoted" words, a \\ backslash and a line break.\n';

function resultOfBytes(bytes: number): unknown {
  if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`BENCH_RESULT_BYTES must be a whole number of bytes, not "${process.env.BENCH_RESULT_BYTES}"`);
  if (bytes === 0) return null;
  const body = sentence.repeat(Math.ceil(bytes / JSON.stringify(sentence).length)).slice(0, bytes);
  return { title: 'Benchmark article', body };
}

export const resultBytes = Number(process.env.BENCH_RESULT_BYTES ?? 0);

/** The result every benchmark task returns (null unless BENCH_RESULT_BYTES is set). */
export const taskResult = resultOfBytes(resultBytes);
