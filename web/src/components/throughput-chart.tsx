/**
 * Tasks finished per five minutes over the last hour, as stacked SVG bars: completed (solid)
 * and failed (hatched, so the two differ without colour). A table with the same numbers
 * follows for screen readers and for reading exact values.
 */
import { formatClock } from '../lib/format.ts';
import { useElementWidth } from '../lib/hooks.ts';

export interface ThroughputBucket {
  start: number;
  completed: number;
  failed: number;
  cancelled: number;
}

const height = 180;
const padding = { top: 12, right: 8, bottom: 28, left: 34 };

export function ThroughputChart({ buckets }: { buckets: ThroughputBucket[] }) {
  const [container, measured] = useElementWidth<HTMLElement>(600);
  const width = Math.max(280, measured);
  const labelEvery = width < 420 ? 4 : width < 700 ? 3 : 2;
  const max = Math.max(1, ...buckets.map((bucket) => bucket.completed + bucket.failed + bucket.cancelled));
  const niceMax = max <= 5 ? max : Math.ceil(max / 5) * 5;
  const plotWidth = width - padding.left - padding.right;
  const plotHeight = height - padding.top - padding.bottom;
  const slot = plotWidth / Math.max(1, buckets.length);
  const y = (value: number): number => padding.top + plotHeight - (value / niceMax) * plotHeight;
  const total = buckets.reduce((sum, bucket) => sum + bucket.completed + bucket.failed + bucket.cancelled, 0);
  const ticks = [0, niceMax / 2, niceMax].map((value) => Math.round(value));
  return (
    <figure class="chart" ref={container}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="throughput-title" preserveAspectRatio="xMidYMid meet">
        <title id="throughput-title">{`Tasks finished per 5 minutes over the last hour: ${total} in total`}</title>
        <defs>
          <pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
            <rect width="6" height="6" class="bar-failed-bg" />
            <line x1="0" y1="0" x2="0" y2="6" class="bar-failed-line" stroke-width="3" />
          </pattern>
        </defs>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={padding.left} x2={width - padding.right} y1={y(tick)} y2={y(tick)} class="grid-line" />
            <text x={padding.left - 6} y={y(tick) + 4} text-anchor="end" class="axis-label">{tick}</text>
          </g>
        ))}
        {buckets.map((bucket, index) => {
          const x = padding.left + index * slot + slot * 0.15;
          const barWidth = slot * 0.7;
          const completedTop = y(bucket.completed);
          const failedTop = y(bucket.completed + bucket.failed);
          const cancelledTop = y(bucket.completed + bucket.failed + bucket.cancelled);
          return (
            <g key={bucket.start}>
              <title>{`${formatClock(bucket.start)}: ${bucket.completed} completed, ${bucket.failed} failed, ${bucket.cancelled} cancelled`}</title>
              <rect x={x} width={barWidth} y={completedTop} height={y(0) - completedTop} class="bar-completed" />
              <rect x={x} width={barWidth} y={failedTop} height={completedTop - failedTop} fill="url(#hatch)" />
              <rect x={x} width={barWidth} y={cancelledTop} height={failedTop - cancelledTop} class="bar-cancelled" />
              {index % labelEvery === 0 ? <text x={x + barWidth / 2} y={height - 8} text-anchor="middle" class="axis-label">{formatClock(bucket.start)}</text> : null}
            </g>
          );
        })}
        <line x1={padding.left} x2={width - padding.right} y1={y(0)} y2={y(0)} class="axis-line" />
      </svg>
      <figcaption class="legend">
        <span><span class="legend-swatch bar-completed" aria-hidden="true" /> completed (solid)</span>
        <span><span class="legend-swatch legend-hatch" aria-hidden="true" /> failed (hatched)</span>
        <span><span class="legend-swatch bar-cancelled" aria-hidden="true" /> cancelled (light)</span>
      </figcaption>
      <details class="chart-data">
        <summary>Data table</summary>
        <table>
          <thead><tr><th scope="col">From</th><th scope="col">Completed</th><th scope="col">Failed</th><th scope="col">Cancelled</th></tr></thead>
          <tbody>
            {buckets.map((bucket) => (
              <tr key={bucket.start}><td>{formatClock(bucket.start)}</td><td>{bucket.completed}</td><td>{bucket.failed}</td><td>{bucket.cancelled}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
