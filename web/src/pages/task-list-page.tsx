/**
 * Task list with filters (status, type, project) kept in the URL. Statuses stay live: the page
 * re-reads every two seconds and, when filtered by project, also on every event of the project
 * stream (there is no tenant-wide stream to follow every task at once).
 */
import { useEffect, useState } from 'preact/hooks';
import { query, request } from '../api/client.ts';
import { ProjectEventStream, type StreamState } from '../api/event-streams.ts';
import { taskStatuses, type TaskPage, type TaskType } from '../api/types.ts';
import { StreamIndicator } from '../components/event-log.tsx';
import { Link } from '../components/link.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { between, formatDuration, formatRelative, shortId } from '../lib/format.ts';
import { useLoader, useNow, useThrottled } from '../lib/hooks.ts';
import { navigate, useLocation } from '../lib/router.ts';
import { ErrorNotice } from './shared.tsx';

export function useTaskTypes() {
  return useLoader((signal) => request<{ task_types: TaskType[] }>('/api/v1/task-types', { signal }).then((answer) => answer.task_types), 'task-types');
}

export function TaskListPage() {
  const location = useLocation();
  const status = location.search.get('status') ?? '';
  const taskType = location.search.get('task_type') ?? '';
  const projectId = location.search.get('project_id') ?? '';
  const cursor = location.search.get('cursor') ?? '';
  const filterKey = `${status}|${taskType}|${projectId}|${cursor}`;
  const [projectInput, setProjectInput] = useState(projectId);
  const [streamState, setStreamState] = useState<StreamState | null>(null);
  const now = useNow(1000);

  useEffect(() => setProjectInput(projectId), [projectId]);

  const types = useTaskTypes();
  const page = useLoader(
    (signal) => request<TaskPage>(`/api/v1/tasks${query({ status, task_type: taskType, project_id: projectId, cursor, limit: 50 })}`, { signal }),
    filterKey,
    2000,
  );
  const reload = useThrottled(page.reload, 300);

  useEffect(() => {
    if (!projectId) {
      setStreamState(null);
      return;
    }
    // The stream replays the project's stored events first; only the new ones mean a change.
    const openedAt = Date.now() - 2000;
    const stream = new ProjectEventStream(projectId, 0, {
      onEvents: (events) => {
        if (events.some((event) => Date.parse(event.created_at) >= openedAt)) reload();
      },
      onState: setStreamState,
    });
    stream.connect();
    return () => stream.close();
  }, [projectId, reload]);

  const setFilter = (name: string, value: string): void => {
    const search = new URLSearchParams(location.search);
    if (value) search.set(name, value);
    else search.delete(name);
    search.delete('cursor');
    const text = search.toString();
    navigate(`/tasks${text ? `?${text}` : ''}`);
  };

  return (
    <div class="page">
      <div class="page-header">
        <h1>Tasks</h1>
        <Link href="/start" class="button button-primary">Start a task</Link>
      </div>
      <form class="filters panel" role="search" aria-label="Filter tasks" onSubmit={(event) => { event.preventDefault(); setFilter('project_id', projectInput.trim()); }}>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(event) => setFilter('status', (event.currentTarget as HTMLSelectElement).value)}>
            <option value="">any status</option>
            {taskStatuses.map((name) => <option key={name} value={name}>{name}</option>)}
            <option value="queued,running,retrying,waiting">unfinished (queued, running, retrying, waiting)</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-type">Type</label>
          <select id="filter-type" value={taskType} onChange={(event) => setFilter('task_type', (event.currentTarget as HTMLSelectElement).value)}>
            <option value="">any type</option>
            {(types.data ?? []).map((type) => <option key={type.type} value={type.type}>{type.type}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="filter-project">Project</label>
          <div class="input-with-button">
            <input id="filter-project" value={projectInput} placeholder="project id" onInput={(event) => setProjectInput((event.currentTarget as HTMLInputElement).value)} />
            <button type="submit" class="button">Apply</button>
          </div>
        </div>
        {status || taskType || projectId ? <button type="button" class="link-button" onClick={() => navigate('/tasks')}>Clear filters</button> : null}
      </form>

      <ErrorNotice error={page.error} />
      <section class="panel" aria-labelledby="task-table-title">
        <div class="panel-header">
          <h2 id="task-table-title">{cursor ? 'Older tasks' : 'Newest tasks'}</h2>
          {streamState ? <StreamIndicator state={streamState} /> : <span class="muted small">refreshes every 2 s</span>}
        </div>
        {page.data && page.data.tasks.length === 0 ? <p class="muted">No task matches these filters.</p> : null}
        <div class="table-scroll">
          <table class="data-table task-table" data-testid="task-table">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Project</th>
                <th scope="col">Created</th>
                <th scope="col" class="numeric">Duration</th>
              </tr>
            </thead>
            <tbody>
              {page.data?.tasks.map((task) => (
                <tr key={task.id} data-task-id={task.id} data-status={task.status}>
                  <td data-label="Task"><Link href={`/tasks/${task.id}`}><strong>{task.task_type}</strong> <code>{shortId(task.id)}</code></Link></td>
                  <td data-label="Status"><StatusBadge status={task.status} /></td>
                  <td data-label="Progress" class="progress-cell"><ProgressBar value={task.progress} label={`Progress of task ${shortId(task.id)}`} status={task.status} /></td>
                  <td data-label="Project">{task.project_id ? <Link href={`/tasks${query({ project_id: task.project_id })}`}>{task.project_id}</Link> : <span class="muted">–</span>}</td>
                  <td data-label="Created"><time dateTime={task.created_at} title={task.created_at}>{formatRelative(task.created_at, now)}</time></td>
                  <td data-label="Duration" class="numeric">{formatDuration(between(task.started_at, task.completed_at, now))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="pager">
          {cursor ? <button type="button" class="button" onClick={() => setFilter('cursor', '')}>Newest tasks</button> : null}
          {page.data?.next_cursor ? (
            <button type="button" class="button" onClick={() => {
              const search = new URLSearchParams(location.search);
              search.set('cursor', page.data!.next_cursor!);
              navigate(`/tasks?${search.toString()}`);
            }}>Older tasks</button>
          ) : null}
        </div>
      </section>
    </div>
  );
}
