/**
 * The automated gather view of a project: departments in order with their thresholds, the
 * quality score per iteration, the items of each department and their evaluations, filling in
 * live from the project WebSocket (`/ws/projects/:id`, resumed with `?after=` on reconnect).
 *
 * Departments, items and evaluations are read from the pipeline's routes
 * (GET /api/v1/projects/:id/departments, /gather, /evaluations) and re-read as events say they
 * changed; the run itself (iterations, scores, status) is rebuilt from the events.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, query, request } from '@dashboard/api/client.ts';
import { ProjectEventStream, type StreamState } from '@dashboard/api/event-streams.ts';
import type { Department, DepartmentEvaluation, GatherItem, SubmitResponse, TaskEvent, TaskPage } from '@dashboard/api/types.ts';
import { StreamIndicator } from '@dashboard/components/event-log.tsx';
import { Link } from '@dashboard/components/link.tsx';
import { RelativeTime } from '@dashboard/components/relative-time.tsx';
import { ProgressBar } from '@dashboard/components/progress-bar.tsx';
import { QualityChart, type QualityPoint } from './quality-chart.tsx';
import { Tag } from '@dashboard/components/status-badge.tsx';
import { formatNumber, formatTime, shortId } from '@dashboard/lib/format.ts';
import { applyGatherEvent, sortedRuns, type DepartmentRun, type GatherRun, type GatherRunStatus } from './gather-runs.ts';
import { useLoader, useThrottled } from '@dashboard/lib/hooks.ts';
import { navigate } from '@dashboard/lib/router.ts';
import { ErrorNotice } from '@dashboard/pages/shared.tsx';

const runStatusText: Record<GatherRunStatus, { label: string; tone: 'good' | 'bad' | 'warn' | 'info' }> = {
  running: { label: '▶ running', tone: 'info' },
  completed: { label: '✓ completed', tone: 'good' },
  timeout: { label: '◷ timed out (partial results kept)', tone: 'warn' },
  cancelled: { label: '⊘ cancelled (partial results kept)', tone: 'warn' },
  failed: { label: '✕ failed', tone: 'bad' },
};

async function allItems(projectId: string, signal: AbortSignal): Promise<GatherItem[]> {
  const items: GatherItem[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: GatherItem[]; next_cursor: string | null } = await request(`/api/v1/projects/${encodeURIComponent(projectId)}/gather${query({ limit: 500, cursor })}`, { signal });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 5000);
  return items;
}

function departmentStatus(entry: DepartmentRun | undefined, run: GatherRun | undefined): { label: string; tone?: 'good' | 'bad' | 'warn' | 'info' } {
  if (!entry) return { label: run ? '– not in this run' : '◷ not gathered yet' };
  switch (entry.status) {
    case 'complete':
      return entry.thresholdReached === false
        ? { label: `⚠ done below threshold (${entry.stoppedBecause ?? 'stopped'})`, tone: 'warn' }
        : { label: '✓ threshold reached', tone: 'good' };
    case 'running':
      return run?.status === 'running' ? { label: `▶ iteration ${entry.iterations.length + 1}`, tone: 'info' } : { label: `■ stopped (${run?.status ?? ''})`, tone: 'warn' };
    case 'deduplicating':
      return run?.status === 'running' ? { label: '▶ deduplicating', tone: 'info' } : { label: `■ stopped (${run?.status ?? ''})`, tone: 'warn' };
    case 'skipped':
      return { label: '⊘ skipped: budget used up', tone: 'warn' };
    default:
      return { label: run?.status === 'running' ? '◷ waiting' : '– not reached' };
  }
}

function ItemList({ items }: { items: GatherItem[] }) {
  if (items.length === 0) return <p class="muted small">No item yet.</p>;
  return (
    <ol class="item-list">
      {items.map((item) => (
        <li key={item.id} class="item">
          <p class="item-summary"><strong>{item.summary}</strong></p>
          <p class="item-content">{item.content}</p>
          {item.context ? <p class="item-context muted small">Context: {item.context}</p> : null}
          <p class="item-meta small">
            {item.automationMetadata ? <span>iteration {item.automationMetadata.iteration}</span> : null}
            <span>duplicate score {item.duplicateCheckScore === null ? '–' : item.duplicateCheckScore.toFixed(2)}</span>
            {item.automationMetadata?.qualityScore !== null && item.automationMetadata?.qualityScore !== undefined ? <span>quality {item.automationMetadata.qualityScore}</span> : null}
            {item.automationMetadata?.model ? <span>model {item.automationMetadata.model}</span> : null}
            <span>{item.isAutomated ? 'automated' : 'manual'}</span>
          </p>
        </li>
      ))}
    </ol>
  );
}

function EvaluationView({ evaluation }: { evaluation: DepartmentEvaluation }) {
  const list = (title: string, entries: string[]) => entries.length > 0 ? (
    <div><h5>{title}</h5><ul class="plain-list">{entries.map((entry, index) => <li key={index}>{entry}</li>)}</ul></div>
  ) : null;
  return (
    <div class="evaluation" data-testid="evaluation">
      <p><strong>Evaluation: rating {formatNumber(evaluation.rating)}/100</strong> <span class="muted small">· {evaluation.itemsEvaluated} items · {evaluation.model ?? 'model ?'} · <Link href={`/tasks/${evaluation.taskId}`}>{formatTime(evaluation.createdAt)}</Link></span></p>
      <p>{evaluation.summary}</p>
      <details class="department-section">
        <summary>Strengths, weaknesses, recommendations</summary>
        <div class="evaluation-lists">
          {list('Strengths', evaluation.strengths)}
          {list('Weaknesses', evaluation.weaknesses)}
          {list('Recommendations', evaluation.recommendations)}
        </div>
      </details>
    </div>
  );
}

interface DepartmentView {
  slug: string;
  name: string;
  number: number | null;
  threshold: number | null;
  model: string | null;
  description?: string;
  gathered: boolean;
}

function DepartmentCard({ department, position, entry, run, items, evaluation }: {
  department: DepartmentView;
  position: number;
  entry: DepartmentRun | undefined;
  run: GatherRun | undefined;
  items: GatherItem[];
  evaluation: DepartmentEvaluation | undefined;
}) {
  const status = departmentStatus(entry, run);
  const threshold = entry?.threshold ?? department.threshold;
  return (
    <li class={`department department-${entry?.status ?? 'pending'}`} data-department={department.slug} data-status={entry?.status ?? 'pending'}>
      <div class="department-header">
        <h3>
          <span class="department-number" aria-label={`Department ${department.number ?? position}`}>{department.number ?? position}</span>
          {department.name}
        </h3>
        <Tag tone={status.tone}>{status.label}</Tag>
      </div>
      <dl class="facts facts-inline">
        <div><dt>Threshold</dt><dd>{threshold ?? '–'}</dd></div>
        <div><dt>Quality</dt><dd data-testid="department-quality">{entry?.qualityScore ?? '–'}</dd></div>
        <div><dt>Iterations</dt><dd>{entry?.iterations.length ?? 0}</dd></div>
        <div><dt>Items</dt><dd data-testid="department-items">{items.length}</dd></div>
        {entry?.model ?? department.model ? <div><dt>Model</dt><dd><code>{entry?.model ?? department.model}</code></dd></div> : null}
      </dl>
      {!department.gathered ? <p class="muted small">Not flagged for gathering (gatherCheck off or inactive).</p> : null}
      {entry && entry.iterations.length > 0 ? (
        <div class="table-scroll">
          <table class="data-table compact">
            <caption class="visually-hidden">{department.name} iterations</caption>
            <thead><tr><th scope="col">Iteration</th><th scope="col" class="numeric">Quality</th><th scope="col" class="numeric">New items</th><th scope="col" class="numeric">Duplicates</th></tr></thead>
            <tbody>
              {entry.iterations.map((point) => (
                <tr key={point.iteration}>
                  <td>{point.iteration}</td>
                  <td class="numeric">{point.score}{threshold !== null && point.score >= threshold ? ' ✓' : ''}</td>
                  <td class="numeric">{point.itemsCreated}</td>
                  <td class="numeric">{point.duplicatesRemoved ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {entry && entry.iterations.length > 0 && entry.iterations[entry.iterations.length - 1]!.missingAspects.length > 0 ? (
        <p class="small muted">Still missing after iteration {entry.iterations[entry.iterations.length - 1]!.iteration}: {entry.iterations[entry.iterations.length - 1]!.missingAspects.join('; ')}</p>
      ) : null}
      {evaluation ? (
        <EvaluationView evaluation={evaluation} />
      ) : entry?.evaluationTaskId ? (
        <p class="small">Evaluation: <Link href={`/tasks/${entry.evaluationTaskId}`}>task {shortId(entry.evaluationTaskId)}</Link> (result not stored yet)</p>
      ) : null}
      <details class="department-section">
        <summary>{items.length} item{items.length === 1 ? '' : 's'}</summary>
        <ItemList items={items} />
      </details>
    </li>
  );
}

function StartGatherForm({ projectId, running }: { projectId: string; running: GatherRun | undefined }) {
  const [maxIterations, setMaxIterations] = useState('50');
  const [evaluate, setEvaluate] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const taskData: Record<string, unknown> = { project_id: projectId, enable_auto_evaluation: evaluate };
      if (maxIterations.trim() !== '') taskData.max_iterations = Number(maxIterations);
      await request<SubmitResponse>('/api/v1/tasks/submit', { method: 'POST', body: { project_id: projectId, task_type: 'automated_gather_creation', task_data: taskData } });
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const runningTaskId = typeof error?.details.running_task_id === 'string' ? error.details.running_task_id : null;
  return (
    <form class="gather-start" onSubmit={submit} noValidate aria-label="Start an automated gather">
      <div class="field field-small">
        <label for="gather-max-iterations">Max iterations</label>
        <input id="gather-max-iterations" type="number" min={1} max={500} value={maxIterations} onInput={(event) => setMaxIterations((event.currentTarget as HTMLInputElement).value)}
          aria-invalid={error?.issues.some((issue) => issue.path.includes('max_iterations')) || undefined} aria-describedby={error ? 'gather-start-error' : undefined} />
      </div>
      <div class="field field-checkbox">
        <input id="gather-evaluate" type="checkbox" checked={evaluate} onChange={(event) => setEvaluate((event.currentTarget as HTMLInputElement).checked)} />
        <label for="gather-evaluate">Evaluate each department</label>
      </div>
      <button type="submit" class="button button-primary" disabled={busy || running?.status === 'running'}>
        {running?.status === 'running' ? 'A run is in progress' : busy ? 'Starting…' : 'Start automated gather'}
      </button>
      {error ? (
        <p id="gather-start-error" class="field-error" role="alert">
          {error.message} {runningTaskId ? <Link href={`/tasks/${runningTaskId}`}>Open the running task</Link> : null}
        </p>
      ) : null}
    </form>
  );
}

export function GatherPage({ projectId }: { projectId: string }) {
  const [runs, setRuns] = useState<GatherRun[]>([]);
  const [selectedRun, setSelectedRun] = useState<string | null>(null);
  const [streamState, setStreamState] = useState<StreamState>('connecting');
  const runsRef = useRef(new Map<string, GatherRun>());
  const encoded = encodeURIComponent(projectId);

  const departments = useLoader((signal) => request<{ departments: Department[]; source: string }>(`/api/v1/projects/${encoded}/departments`, { signal }), `departments:${projectId}`);
  const items = useLoader((signal) => allItems(projectId, signal), `items:${projectId}`);
  const evaluations = useLoader((signal) => request<{ evaluations: DepartmentEvaluation[] }>(`/api/v1/projects/${encoded}/evaluations${query({ limit: 200 })}`, { signal }).then((answer) => answer.evaluations), `evaluations:${projectId}`);
  const reloadItems = useThrottled(items.reload, 1000);
  const reloadEvaluations = useThrottled(evaluations.reload, 1000);

  useEffect(() => {
    runsRef.current = new Map();
    setRuns([]);
    const stream = new ProjectEventStream(projectId, 0, {
      onEvents: (batch: TaskEvent[]) => {
        let changed = false;
        for (const event of batch) changed = applyGatherEvent(runsRef.current, event) || changed;
        if (changed) setRuns(sortedRuns(runsRef.current).map((run) => ({ ...run, departments: run.departments.map((entry) => ({ ...entry })) })));
        if (batch.some((event) => ['iteration_complete', 'department_complete', 'automation_complete', 'automation_cancelled', 'automation_timeout'].includes(event.type))) reloadItems();
        if (batch.some((event) => event.type === 'task_completed' || event.type === 'department_complete')) reloadEvaluations();
      },
      onState: setStreamState,
    });
    stream.connect();
    return () => stream.close();
  }, [projectId]);

  const run = runs.find((candidate) => candidate.taskId === selectedRun) ?? runs[0];

  const ordered = useMemo(() => {
    const fromApi: DepartmentView[] = [...(departments.data?.departments ?? [])].sort((a, b) => a.codeDepNumber - b.codeDepNumber).map((department) => ({
      slug: department.slug, name: department.name, number: department.codeDepNumber, threshold: department.coordinationSettings?.minQualityThreshold ?? null,
      model: department.defaultModel, description: department.description, gathered: department.gatherCheck && department.isActive,
    }));
    // Departments the run walked that the list no longer has (edited since) are still shown.
    for (const entry of run?.departments ?? []) {
      if (!fromApi.some((department) => department.slug === entry.slug)) {
        fromApi.push({ slug: entry.slug, name: entry.name, number: entry.number, threshold: entry.threshold, model: entry.model, description: '', gathered: true });
      }
    }
    return fromApi;
  }, [departments.data, run]);

  const itemsByDepartment = useMemo(() => {
    const grouped = new Map<string, GatherItem[]>();
    for (const item of items.data ?? []) {
      const list = grouped.get(item.department) ?? [];
      list.push(item);
      grouped.set(item.department, list);
    }
    return grouped;
  }, [items.data]);

  const latestEvaluation = useMemo(() => {
    const latest = new Map<string, DepartmentEvaluation>();
    for (const evaluation of evaluations.data ?? []) {
      const current = latest.get(evaluation.department);
      if (!current || current.createdAt < evaluation.createdAt) latest.set(evaluation.department, evaluation);
    }
    return latest;
  }, [evaluations.data]);

  const points: QualityPoint[] = [];
  const bands = ordered.filter((department) => department.gathered || run?.departments.some((entry) => entry.slug === department.slug)).map((department) => {
    const entry = run?.departments.find((candidate) => candidate.slug === department.slug);
    const threshold = entry?.threshold ?? department.threshold ?? 80;
    for (const point of entry?.iterations ?? []) points.push({ department: department.slug, departmentName: department.name, iteration: point.iteration, totalIteration: point.totalIteration, score: point.score, threshold });
    return { department: department.slug, departmentName: department.name, threshold };
  });
  const done = run?.departments.filter((entry) => entry.status === 'complete').length ?? 0;
  const status = run ? runStatusText[run.status] : null;

  return (
    <div class="page">
      <div class="page-header">
        <div>
          <p class="breadcrumb"><Link href="/gather">Automated gather</Link></p>
          <h1>Project <code>{projectId}</code></h1>
        </div>
        <StreamIndicator state={streamState} />
      </div>
      <ErrorNotice error={departments.error} action="Departments" />
      <ErrorNotice error={items.error} action="Items" />
      <ErrorNotice error={evaluations.error} action="Evaluations" />

      <section class="panel" aria-labelledby="run-title" data-testid="gather-run" data-run-status={run?.status ?? 'none'}>
        <div class="panel-header">
          <h2 id="run-title">{run ? 'Run' : 'No run yet'}</h2>
          {runs.length > 1 ? (
            <div class="field field-inline">
              <label for="run-picker">Run</label>
              <select id="run-picker" value={run?.taskId} onChange={(event) => setSelectedRun((event.currentTarget as HTMLSelectElement).value)}>
                {runs.map((candidate) => <option key={candidate.taskId} value={candidate.taskId}>{formatTime(candidate.startedAt)} · {candidate.status} · {shortId(candidate.taskId)}</option>)}
              </select>
            </div>
          ) : null}
        </div>
        {run && status ? (
          <>
            <p>
              <Tag tone={status.tone}>{status.label}</Tag>{' '}
              <Link href={`/tasks/${run.taskId}`}>task {shortId(run.taskId)}</Link>
              <span class="muted small"> · started <RelativeTime iso={run.startedAt} /></span>
            </p>
            <ProgressBar value={run.status === 'completed' ? 100 : run.progress ?? 0} label="Gather progress" status={run.status === 'completed' ? 'completed' : 'running'} />
            {run.progressMessage ? <p class="progress-message">{run.progressMessage}</p> : null}
            <dl class="facts facts-inline">
              <div><dt>Departments done</dt><dd data-testid="departments-done">{done} of {run.departments.length || ordered.filter((entry) => entry.gathered).length}</dd></div>
              <div><dt>Iterations</dt><dd>{run.totalIterations}{run.maxIterations ? ` of ${run.maxIterations}` : ''}</dd></div>
              <div><dt>Items created</dt><dd>{run.itemsCreated || run.departments.reduce((sum, entry) => sum + entry.itemsCreated, 0)}</dd></div>
            </dl>
            {run.error ? <p class="field-error">{run.error}</p> : null}
            {run.warnings.length > 0 ? (
              <ul class="warnings" aria-label="Warnings">
                {run.warnings.map((warning) => <li key={warning.id}><span aria-hidden="true">⚠ </span><strong>{warning.type}</strong>: {warning.message}</li>)}
              </ul>
            ) : null}
          </>
        ) : <p class="muted">No automated gather has run for this project yet; start one below.</p>}
        <StartGatherForm projectId={projectId} running={runs.find((candidate) => candidate.status === 'running')} />
      </section>

      <section class="panel" aria-labelledby="quality-heading">
        <h2 id="quality-heading">Quality score per iteration</h2>
        <QualityChart points={points} bands={bands} />
      </section>

      <section aria-labelledby="departments-heading">
        <h2 id="departments-heading">Departments, in order {departments.data ? <span class="muted small">(from {departments.data.source})</span> : null}</h2>
        <ol class="department-list" data-testid="departments">
          {ordered.map((department, index) => (
            <DepartmentCard
              key={department.slug}
              department={department}
              position={index + 1}
              entry={run?.departments.find((entry) => entry.slug === department.slug)}
              run={run}
              items={itemsByDepartment.get(department.slug) ?? []}
              evaluation={latestEvaluation.get(department.slug)}
            />
          ))}
        </ol>
      </section>

      <section class="panel" aria-labelledby="evaluations-heading">
        <h2 id="evaluations-heading">Evaluations <span class="count">({evaluations.data?.length ?? 0})</span></h2>
        {evaluations.data && evaluations.data.length === 0 ? <p class="muted">No evaluation yet. They are stored as each department completes, when auto-evaluation is on.</p> : null}
        {evaluations.data && evaluations.data.length > 0 ? (
          <div class="table-scroll">
            <table class="data-table" data-testid="evaluations">
              <thead><tr><th scope="col">Department</th><th scope="col" class="numeric">Rating</th><th scope="col" class="numeric hide-phone">Items</th><th scope="col">Summary</th><th scope="col" class="hide-phone">When</th></tr></thead>
              <tbody>
                {evaluations.data.map((evaluation) => (
                  <tr key={evaluation.id}>
                    <th scope="row">{evaluation.department}</th>
                    <td class="numeric">{formatNumber(evaluation.rating)}</td>
                    <td class="numeric hide-phone">{evaluation.itemsEvaluated}</td>
                    <td>{evaluation.summary}</td>
                    <td class="hide-phone"><Link href={`/tasks/${evaluation.taskId}`}>{formatTime(evaluation.createdAt)}</Link></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </div>
  );
}

export function GatherIndexPage() {
  const [projectId, setProjectId] = useState('');
  const recent = useLoader((signal) => request<TaskPage>(`/api/v1/tasks${query({ task_type: 'automated_gather_creation', limit: 100 })}`, { signal }), 'gather-projects');
  const projects = [...new Set((recent.data?.tasks ?? []).map((task) => task.project_id).filter((id): id is string => id !== null))];
  return (
    <div class="page">
      <div class="page-header"><h1>Automated gather</h1></div>
      <form class="panel filters" onSubmit={(event) => { event.preventDefault(); if (projectId.trim()) navigate(`/projects/${encodeURIComponent(projectId.trim())}/gather`); }}>
        <div class="field">
          <label for="gather-project">Project id</label>
          <div class="input-with-button">
            <input id="gather-project" value={projectId} onInput={(event) => setProjectId((event.currentTarget as HTMLInputElement).value)} placeholder="e.g. movie-1" />
            <button type="submit" class="button button-primary">Open</button>
          </div>
        </div>
      </form>
      <ErrorNotice error={recent.error} />
      <section class="panel" aria-labelledby="recent-projects">
        <h2 id="recent-projects">Projects with recent runs</h2>
        {projects.length === 0 ? <p class="muted">No automated gather run yet.</p> : (
          <ul class="plain-list">
            {projects.map((id) => {
              const latest = recent.data!.tasks.find((task) => task.project_id === id)!;
              return <li key={id}><Link href={`/projects/${encodeURIComponent(id)}/gather`}>{id}</Link> <span class="muted small">· last run {latest.status}, <RelativeTime iso={latest.created_at} /></span></li>;
            })}
          </ul>
        )}
      </section>
    </div>
  );
}
