/**
 * Quality score per iteration of an automated gather run: one band per department (in order),
 * its threshold as a dashed line across the band, a point per iteration. Departments differ by
 * label and marker shape, not only colour; a data table follows.
 */
import { useElementWidth } from '@dashboard/lib/hooks.ts';

export interface QualityPoint {
  department: string;
  departmentName: string;
  iteration: number;
  totalIteration: number;
  score: number;
  threshold: number;
}

export interface QualityBand {
  department: string;
  departmentName: string;
  threshold: number;
}

const height = 240;
const padding = { top: 28, right: 12, bottom: 30, left: 34 };
const shapes = ['circle', 'square', 'diamond', 'triangle'] as const;

/** The department's name, shortened to its band's width (its number when nothing fits). */
function bandLabel(name: string, index: number, bandWidth: number): string {
  const characters = Math.floor((bandWidth - 10) / 7.2);
  if (characters >= name.length) return name;
  if (characters < 4) return String(index + 1);
  return `${name.slice(0, characters - 1)}…`;
}

function Marker({ x, y, shape, index }: { x: number; y: number; shape: (typeof shapes)[number]; index: number }) {
  const className = `marker marker-${index % 7}`;
  switch (shape) {
    case 'square':
      return <rect x={x - 4} y={y - 4} width={8} height={8} class={className} />;
    case 'diamond':
      return <path d={`M${x} ${y - 5.5}L${x + 5.5} ${y}L${x} ${y + 5.5}L${x - 5.5} ${y}Z`} class={className} />;
    case 'triangle':
      return <path d={`M${x} ${y - 5.5}L${x + 5.5} ${y + 4.5}L${x - 5.5} ${y + 4.5}Z`} class={className} />;
    default:
      return <circle cx={x} cy={y} r={4.5} class={className} />;
  }
}

export function QualityChart({ points, bands }: { points: QualityPoint[]; bands: QualityBand[] }) {
  const [container, measured] = useElementWidth<HTMLElement>(720);
  const width = Math.max(280, measured);
  // Every department gets at least one slot, so the pending ones show where they will go.
  const slots = bands.map((band) => Math.max(1, points.filter((point) => point.department === band.department).length));
  const totalSlots = Math.max(1, slots.reduce((sum, count) => sum + count, 0));
  const plotWidth = width - padding.left - padding.right;
  const plotHeight = height - padding.top - padding.bottom;
  const slotWidth = plotWidth / totalSlots;
  const y = (score: number): number => padding.top + plotHeight - (Math.max(0, Math.min(100, score)) / 100) * plotHeight;
  let offset = 0;
  const bandLayout = bands.map((band, index) => {
    const start = offset;
    offset += slots[index]!;
    return { ...band, index, x: padding.left + start * slotWidth, width: slots[index]! * slotWidth };
  });
  const last = points[points.length - 1];
  return (
    <figure class="chart" ref={container}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="quality-title" preserveAspectRatio="xMidYMid meet">
        <title id="quality-title">
          {last ? `Quality score per iteration; latest ${last.departmentName} iteration ${last.iteration}: ${last.score} of threshold ${last.threshold}` : 'Quality score per iteration: no iteration yet'}
        </title>
        {[0, 50, 100].map((tick) => (
          <g key={tick}>
            <line x1={padding.left} x2={width - padding.right} y1={y(tick)} y2={y(tick)} class="grid-line" />
            <text x={padding.left - 6} y={y(tick) + 4} text-anchor="end" class="axis-label">{tick}</text>
          </g>
        ))}
        {bandLayout.map((band) => {
          const bandPoints = points.filter((point) => point.department === band.department);
          const step = band.width / Math.max(1, bandPoints.length);
          const coordinates = bandPoints.map((point, index) => ({ point, x: band.x + step * (index + 0.5), y: y(point.score) }));
          return (
            <g key={band.department} class="band" data-department={band.department}>
              <rect x={band.x} y={padding.top} width={band.width} height={plotHeight} class={band.index % 2 === 0 ? 'band-even' : 'band-odd'} />
              <text x={band.x + 4} y={padding.top - 8} class="band-label">{bandLabel(band.departmentName, band.index, band.width)}</text>
              <line x1={band.x} x2={band.x + band.width} y1={y(band.threshold)} y2={y(band.threshold)} class="threshold-line">
                <title>{`${band.departmentName} threshold ${band.threshold}`}</title>
              </line>
              {coordinates.length > 1 ? <polyline points={coordinates.map((entry) => `${entry.x},${entry.y}`).join(' ')} class={`series series-${band.index % 7}`} /> : null}
              {coordinates.map(({ point, x, y: pointY }) => (
                <g key={point.iteration}>
                  <title>{`${point.departmentName}, iteration ${point.iteration}: quality ${point.score} (threshold ${point.threshold})`}</title>
                  <Marker x={x} y={pointY} shape={shapes[band.index % shapes.length]!} index={band.index} />
                </g>
              ))}
            </g>
          );
        })}
        <line x1={padding.left} x2={width - padding.right} y1={y(0)} y2={y(0)} class="axis-line" />
        <text x={width - padding.right} y={height - 8} text-anchor="end" class="axis-label">iterations, by department →</text>
      </svg>
      <figcaption class="legend">dashed line: the department's threshold</figcaption>
      <details class="chart-data">
        <summary>Data table</summary>
        <table>
          <thead><tr><th scope="col">Department</th><th scope="col">Iteration</th><th scope="col">Quality</th><th scope="col">Threshold</th></tr></thead>
          <tbody>
            {points.map((point) => (
              <tr key={`${point.department}-${point.iteration}`}><td>{point.departmentName}</td><td>{point.iteration}</td><td>{point.score}</td><td>{point.threshold}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
