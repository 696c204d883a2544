/**
 * Overview: tasks by status and by queue, durations per type, throughput over the last hour,
 * recent failures, and today's LLM calls, tokens and cost per model.
 *
 * Counts, durations and throughput (tasks ended per 5 minutes, by when they ended) come from
 * GET /api/v1/tasks/stats, LLM usage from GET /api/v1/llm/usage (every call the gateway recorded
 * for this tenant's tasks, whatever their type or outcome).
 */
import { query, request } from '../api/client.ts';
import { taskStatuses, type LlmUsageSummary, type TaskPage, type TaskStats } from '../api/types.ts';
import { Link } from '../components/link.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { ThroughputChart } from '../components/throughput-chart.tsx';
import { formatCost, formatDuration, formatNumber, formatRelative, shortId } from '../lib/format.ts';
import { useLoader } from '../lib/hooks.ts';
import { ErrorNotice } from './shared.tsx';

/** Midnight of today in the viewer's time zone: "today" is their day, not UTC's. */
function localMidnight(): Date {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return midnight;
}

function callNotes(usage: LlmUsageSummary): string {
  const { totals } = usage;
  const notes = [`${formatNumber(totals.calls)} call${totals.calls === 1 ? '' : 's'}`];
  if (totals.cached_calls > 0) notes.push(`${formatNumber(totals.cached_calls)} cached`);
  if (totals.failed_calls > 0) notes.push(`${formatNumber(totals.failed_calls)} failed`);
  return notes.join(', ');
}

function LlmModelTable({ usage }: { usage: LlmUsageSummary | undefined }) {
  return (
    <section class="panel" aria-labelledby="llm-models-heading">
      <h2 id="llm-models-heading">LLM usage today, by model</h2>
      {!usage ? <p class="muted">Loading…</p> : usage.by_model.length === 0 ? <p class="muted">No LLM call today.</p> : (
        <div class="table-scroll">
          <table class="data-table" data-testid="llm-models">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" class="numeric">Calls</th>
                <th scope="col" class="numeric">Input tokens</th>
                <th scope="col" class="numeric">Output tokens</th>
                <th scope="col" class="numeric">Cost</th>
              </tr>
            </thead>
            <tbody>
              {usage.by_model.map((model) => (
                <tr key={model.model}>
                  <th scope="row"><code>{model.model}</code></th>
                  <td class="numeric">{formatNumber(model.calls)}</td>
                  <td class="numeric">{formatNumber(model.input_tokens)}</td>
                  <td class="numeric">{formatNumber(model.output_tokens)}</td>
                  <td class="numeric">{formatCost(model.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/**
 * Counts per queue or type, one column per state, so the columns add up to the total: queued
 * (retries waiting for their time included), running, parked (`waiting`: on a waitpoint or its
 * children, holding no slot), then the three endings.
 */
function CountTable({ title, rows }: { title: string; rows: Record<string, Record<string, number>> }) {
  const names = Object.keys(rows).sort();
  return (
    <section class="panel" aria-labelledby={`table-${title}`}>
      <h2 id={`table-${title}`}>{title}</h2>
      {names.length === 0 ? <p class="muted">No task yet.</p> : (
        <div class="table-scroll">
          <table class="data-table">
            <thead>
              <tr>
                <th scope="col">{title === 'Queues' ? 'Queue' : 'Type'}</th>
                <th scope="col" class="numeric" title="queued, and retries waiting for their time">Queued</th>
                <th scope="col" class="numeric">Running</th>
                <th scope="col" class="numeric" title="waiting on a waitpoint or on child tasks, holding no worker slot">Parked</th>
                <th scope="col" class="numeric">Completed</th>
                <th scope="col" class="numeric">Failed</th>
                <th scope="col" class="numeric hide-phone">Cancelled</th>
                <th scope="col" class="numeric hide-phone">Total</th>
              </tr>
            </thead>
            <tbody>
              {names.map((name) => {
                const counts = rows[name]!;
                return (
                  <tr key={name}>
                    <th scope="row">{title === 'Queues' ? name : <Link href={`/tasks${query({ task_type: name })}`}>{name}</Link>}</th>
                    <td class="numeric">{(counts.queued ?? 0) + (counts.retrying ?? 0)}</td>
                    <td class="numeric">{counts.running ?? 0}</td>
                    <td class="numeric">{counts.waiting ?? 0}</td>
                    <td class="numeric">{counts.completed ?? 0}</td>
                    <td class="numeric">{counts.failed ?? 0}</td>
                    <td class="numeric hide-phone">{counts.cancelled ?? 0}</td>
                    <td class="numeric hide-phone">{counts.total ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function OverviewPage() {
  const stats = useLoader((signal) => request<TaskStats>('/api/v1/tasks/stats', { signal }), 'stats', 5000);
  const llmUsage = useLoader((signal) => request<LlmUsageSummary>(`/api/v1/llm/usage${query({ since: localMidnight().toISOString() })}`, { signal }), 'llm-usage', 10_000);
  const failures = useLoader((signal) => request<TaskPage>(`/api/v1/tasks${query({ status: 'failed', limit: 5 })}`, { signal }), 'failures', 10_000);

  const now = Date.now();
  const usage = llmUsage.data;
  const data = stats.data;

  return (
    <div class="page">
      <div class="page-header">
        <h1>Overview</h1>
        <Link href="/start" class="button button-primary">Start a task</Link>
      </div>
      <ErrorNotice error={stats.error} />

      <section aria-labelledby="status-title">
        <h2 id="status-title" class="visually-hidden">Tasks by status</h2>
        <ul class="stat-grid" data-testid="status-counts">
          {taskStatuses.map((status) => (
            <li key={status} class="stat">
              <Link href={`/tasks${query({ status })}`} class="stat-link" aria-label={`${data?.by_status[status] ?? 0} ${status} tasks`}>
                <span class="stat-value">{data ? data.by_status[status] : '…'}</span>
                <StatusBadge status={status} />
              </Link>
            </li>
          ))}
        </ul>
        <ul class="stat-grid stat-grid-wide">
          <li class="stat">
            <div class="stat-link">
              <span class="stat-value">{data ? formatNumber(Object.values(data.queue_depth).reduce((sum, value) => sum + value, 0)) : '…'}</span>
              <span class="stat-label">waiting in queues</span>
              {data ? <span class="stat-note">{Object.entries(data.queue_depth).map(([queue, depth]) => `${queue} ${depth}`).join(' · ') || 'no queue used yet'}</span> : null}
            </div>
          </li>
          <li class="stat" data-testid="tokens-today">
            <div class="stat-link">
              <span class="stat-value" data-testid="tokens-today-value">{usage ? formatNumber(usage.totals.input_tokens + usage.totals.output_tokens) : '…'}</span>
              <span class="stat-label">LLM tokens today</span>
              {usage ? (
                <span class="stat-note">
                  {formatNumber(usage.totals.input_tokens)} in · {formatNumber(usage.totals.output_tokens)} out · {callNotes(usage)} · cost {formatCost(usage.totals.cost_usd)}
                </span>
              ) : null}
              {llmUsage.error ? <span class="stat-note">could not be read: {llmUsage.error.message}</span> : null}
            </div>
          </li>
        </ul>
      </section>

      <div class="grid-2">
        <section class="panel" aria-labelledby="throughput-heading">
          <h2 id="throughput-heading">Throughput, last hour</h2>
          {data ? <ThroughputChart buckets={data.ended_last_hour.map((slot) => ({ ...slot, start: Date.parse(slot.start) }))} /> : <p class="muted">Loading…</p>}
        </section>

        <section class="panel" aria-labelledby="failures-heading">
          <div class="panel-header">
            <h2 id="failures-heading">Recent failures</h2>
            <Link href="/tasks?status=failed">All failures</Link>
          </div>
          {failures.data && failures.data.tasks.length === 0 ? <p class="muted">No failed task. <span aria-hidden="true">✓</span></p> : null}
          <ul class="failure-list">
            {failures.data?.tasks.map((task) => (
              <li key={task.id}>
                <Link href={`/tasks/${task.id}`}><strong>{task.task_type}</strong> <code>{shortId(task.id)}</code></Link>
                <span class="muted"> · {formatRelative(task.completed_at ?? task.updated_at, now)}</span>
                <p class="failure-message">{errorMessage(task.error)}</p>
              </li>
            ))}
          </ul>
        </section>
      </div>

      <LlmModelTable usage={usage} />
      <CountTable title="Queues" rows={data?.by_queue ?? {}} />
      <CountTable title="Task types" rows={data?.by_type ?? {}} />

      {data && Object.keys(data.durations.by_type).length > 0 ? (
        <section class="panel" aria-labelledby="durations-heading">
          <h2 id="durations-heading">Durations of completed tasks, last {data.durations.window_hours} h</h2>
          <div class="table-scroll">
            <table class="data-table">
              <thead><tr><th scope="col">Type</th><th scope="col" class="numeric">Completed</th><th scope="col" class="numeric">Mean</th><th scope="col" class="numeric">p95</th></tr></thead>
              <tbody>
                {Object.entries(data.durations.by_type).sort(([a], [b]) => a.localeCompare(b)).map(([type, duration]) => (
                  <tr key={type}><th scope="row">{type}</th><td class="numeric">{duration.count}</td><td class="numeric">{formatDuration(duration.mean_ms)}</td><td class="numeric">{formatDuration(duration.p95_ms)}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error === null || error === undefined) return '';
  if (typeof error === 'string') return error;
  const record = error as { message?: unknown; code?: unknown };
  if (typeof record.message === 'string') return typeof record.code === 'string' ? `${record.code}: ${record.message}` : record.message;
  return JSON.stringify(error);
}
