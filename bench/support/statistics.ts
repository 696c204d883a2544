/** Small helpers every benchmark prints with: percentiles, rounding, progress lines on stderr. */

/** The value at `fraction` (0.5 for the median) of `values`, nearest-rank; 0 for no values. */
export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Two decimals, as the JSON lines print them. */
export const round = (value: number): number => Math.round(value * 100) / 100;

/** A progress line on stderr, so stdout keeps only the final JSON line. */
export const log = (message: string): void => void process.stderr.write(`${message}\n`);
