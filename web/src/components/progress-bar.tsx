export function ProgressBar({ value, label, status }: { value: number; label: string; status?: string }) {
  const clamped = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div class="progress">
      <div
        class={`progress-track${status ? ` progress-${status}` : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={clamped}
        aria-valuetext={`${clamped} %`}
      >
        <div class="progress-fill" style={{ width: `${clamped}%` }} />
      </div>
      <span class="progress-value" data-testid="progress-value">{clamped} %</span>
    </div>
  );
}
