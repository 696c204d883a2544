/**
 * A task's LLM calls, read from GET /api/v1/tasks/ID/llm-calls (the gateway's `llm_calls`
 * rows): their totals, and a table of every call.
 *
 * These come from the calls themselves, not from the `llm_usage` a result may carry, so running,
 * failed and cancelled tasks show theirs too. While the task runs they are re-read every few
 * seconds; when it ends they are read once more at once and once a little later, because the
 * gateway writes a call's row in the background, a few milliseconds after the call returns.
 */
import { memo } from 'preact/compat';
import { useEffect, useRef } from 'preact/hooks';
import { request } from '../api/client.ts';
import { terminalStatuses, type LlmCall, type LlmCallTotals, type TaskLlmCalls, type TaskStatus } from '../api/types.ts';
import { formatCost, formatDuration, formatNumber, formatTime } from '../lib/format.ts';
import { useLoader, type Loaded } from '../lib/hooks.ts';
import { ErrorNotice } from '../pages/shared.tsx';
import { Tag } from './status-badge.tsx';

const runningRefreshMs = 3000;
/** Long enough for rows still being written when the task ended. */
const settleRereadMs = 1500;

/** `status` is the task's as the page knows it (undefined until the task is read). */
export function useTaskLlmCalls(taskId: string, status: TaskStatus | undefined): Loaded<TaskLlmCalls> {
  const finished = status !== undefined && terminalStatuses.includes(status);
  const loaded = useLoader(
    (signal) => request<TaskLlmCalls>(`/api/v1/tasks/${encodeURIComponent(taskId)}/llm-calls`, { signal }),
    `llm-calls-${taskId}`,
    status === undefined || finished ? undefined : runningRefreshMs,
  );
  // Only a task seen unfinished here can have rows still landing; an old task is read once.
  const seenUnfinished = useRef<string | null>(null);
  if (status !== undefined && !finished) seenUnfinished.current = taskId;
  const { reload } = loaded;
  useEffect(() => {
    if (!finished || seenUnfinished.current !== taskId) return;
    reload();
    const timer = setTimeout(reload, settleRereadMs);
    return () => clearTimeout(timer);
  }, [finished, reload, taskId]);
  return loaded;
}

function callCount(totals: LlmCallTotals): string {
  const notes = [
    totals.cached_calls > 0 ? `${formatNumber(totals.cached_calls)} cached` : '',
    totals.failed_calls > 0 ? `${formatNumber(totals.failed_calls)} failed` : '',
  ].filter(Boolean);
  return `${formatNumber(totals.calls)}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/** The totals, for the panel beside attempts and timings. */
export function LlmTotalsPanel({ loaded, finished }: { loaded: Loaded<TaskLlmCalls>; finished: boolean }) {
  const totals = loaded.data?.totals;
  return (
    <section class="panel" aria-labelledby="usage-title">
      <h2 id="usage-title">LLM calls and tokens</h2>
      <ErrorNotice error={loaded.error} action="Could not read the LLM calls" />
      {!totals ? <p class="muted">{loaded.error ? '' : 'Loading…'}</p> : totals.calls === 0 ? (
        <p class="muted" data-testid="llm-usage-empty">{finished ? 'This task made no LLM call.' : 'No LLM call yet.'}</p>
      ) : (
        <dl class="facts" data-testid="llm-usage">
          <div><dt>Calls</dt><dd data-testid="llm-usage-calls">{callCount(totals)}</dd></div>
          <div><dt>Input tokens</dt><dd data-testid="llm-usage-input">{formatNumber(totals.input_tokens)}</dd></div>
          <div><dt>Output tokens</dt><dd data-testid="llm-usage-output">{formatNumber(totals.output_tokens)}</dd></div>
          <div><dt>Cost</dt><dd>{formatCost(totals.cost_usd)}</dd></div>
        </dl>
      )}
      {totals && totals.calls > 0 && !finished ? <p class="help">Updated every {runningRefreshMs / 1000} s while the task runs.</p> : null}
    </section>
  );
}

function Outcome({ call }: { call: LlmCall }) {
  if (call.error_code) return <Tag tone="bad">{`✕ ${call.error_code}`}</Tag>;
  if (call.cache_hit) return <Tag tone="info">↺ cached</Tag>;
  return <Tag tone="good">✓ ok</Tag>;
}

/**
 * Every call, oldest first, in a panel of its own (it needs the page's width). Re-rendered only
 * when the calls are read again: a task page re-renders every second for its clocks.
 */
export const LlmCallTable = memo(function LlmCallTable({ calls }: { calls: TaskLlmCalls | undefined }) {
  if (!calls || calls.calls.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="llm-calls-title">
      <div class="panel-header">
        <h2 id="llm-calls-title">LLM calls <span class="count">({formatNumber(calls.totals.calls)})</span></h2>
        {calls.truncated ? <span class="muted small">the newest {formatNumber(calls.calls.length)} are listed; the totals count all</span> : null}
      </div>
      <div class="table-scroll table-scroll-tall">
        <table class="data-table compact" data-testid="llm-calls">
          <caption class="visually-hidden">LLM calls of this task, oldest first</caption>
          <thead>
            <tr>
              <th scope="col" class="hide-phone">Time</th>
              <th scope="col">Step</th>
              <th scope="col" class="hide-phone">Purpose</th>
              <th scope="col">Model</th>
              <th scope="col" class="numeric hide-phone">Attempt</th>
              <th scope="col" class="numeric">Input</th>
              <th scope="col" class="numeric">Output</th>
              <th scope="col" class="numeric hide-phone">Latency</th>
              <th scope="col" class="numeric hide-phone">Cost</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {calls.calls.map((call) => (
              <tr key={call.id} data-call-id={call.id}>
                <td class="hide-phone"><time dateTime={call.created_at}>{formatTime(call.created_at)}</time></td>
                <td><code>{call.step ?? '–'}</code></td>
                <td class="hide-phone">{call.purpose}</td>
                <td><code>{call.provider}:{call.model}</code></td>
                <td class="numeric hide-phone">{call.attempt}</td>
                <td class="numeric">{formatNumber(call.input_tokens)}</td>
                <td class="numeric">{formatNumber(call.output_tokens)}</td>
                <td class="numeric hide-phone">{formatDuration(call.latency_ms)}</td>
                <td class="numeric hide-phone">{formatCost(call.cost_usd)}</td>
                <td><Outcome call={call} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
});
