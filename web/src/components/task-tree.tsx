/**
 * A task's child tasks as a tree: each child with its status badge and progress, and a toggle
 * that loads its own children when opened (`GET /api/v1/tasks/ID/children`), so a wide fan-out
 * costs one request per level someone looks at. A level with unsettled tasks re-reads every 3 s.
 */
import { useState } from 'preact/hooks';
import { request } from '../api/client.ts';
import type { Task, TaskChildren } from '../api/types.ts';
import { shortId } from '../lib/format.ts';
import { useLoader, type Loaded } from '../lib/hooks.ts';
import { ErrorNotice } from '../pages/shared.tsx';
import { Link } from './link.tsx';
import { ProgressBar } from './progress-bar.tsx';
import { StatusBadge } from './status-badge.tsx';

/** Re-read interval of a level while some task in it has not settled. */
const unsettledIntervalMs = 3000;

/** The children of `taskId`, re-read every 3 s while one of them is unsettled. */
export function useTaskChildren(taskId: string): Loaded<TaskChildren> {
  const [unsettled, setUnsettled] = useState(true);
  const loaded = useLoader(
    async (signal) => {
      const answer = await request<TaskChildren>(`/api/v1/tasks/${encodeURIComponent(taskId)}/children`, { signal });
      // Counted over all children, also those past the listed first thousand.
      setUnsettled(answer.settled < answer.total);
      return answer;
    },
    taskId,
    unsettled ? unsettledIntervalMs : undefined,
  );
  return loaded;
}

function ChildLevel({ taskId }: { taskId: string }) {
  const children = useTaskChildren(taskId);
  if (children.error && !children.data) return <ErrorNotice error={children.error} action="Could not load the child tasks" />;
  if (!children.data) return <p class="muted small">Loading child tasks…</p>;
  if (children.data.children.length === 0) return <p class="muted small" data-testid="no-children">No child tasks.</p>;
  return <TreeLevel tasks={children.data.children} />;
}

function TreeNode({ task }: { task: Task }) {
  const [open, setOpen] = useState(false);
  const label = `${task.task_type} ${shortId(task.id)}`;
  return (
    <li class="tree-node" data-task-id={task.id} data-status={task.status}>
      <div class="tree-row">
        <button type="button" class="button button-quiet tree-toggle" aria-expanded={open} aria-label={`${open ? 'Hide' : 'Show'} child tasks of ${label}`} onClick={() => setOpen(!open)}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span>
        </button>
        <Link href={`/tasks/${encodeURIComponent(task.id)}`}>{task.task_type} <code>{shortId(task.id)}</code></Link>
        <StatusBadge status={task.status} />
        <ProgressBar value={task.progress} label={`Progress of ${label}`} status={task.status} />
      </div>
      {open ? <ChildLevel taskId={task.id} /> : null}
    </li>
  );
}

function TreeLevel({ tasks }: { tasks: Task[] }) {
  return <ul>{tasks.map((task) => <TreeNode key={task.id} task={task} />)}</ul>;
}

/** The panel: renders nothing for a task without children. Counts are of all its children. */
export function ChildTaskTree({ answer }: { answer: TaskChildren | undefined }) {
  const children = answer?.children ?? [];
  if (children.length === 0 || !answer) return null;
  return (
    <section class="panel" aria-labelledby="children-title" data-testid="child-tasks">
      <div class="panel-header">
        <h2 id="children-title">Child tasks</h2>
        <span class="muted small" data-testid="child-tasks-settled">{answer.settled} of {answer.total} settled{answer.truncated ? ` (the first ${children.length} listed)` : ''}</span>
      </div>
      <div class="task-tree">
        <TreeLevel tasks={children} />
      </div>
    </section>
  );
}
