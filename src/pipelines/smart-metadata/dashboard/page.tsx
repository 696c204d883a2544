/**
 * The Projects page of the smart metadata pipeline: each project with its AI tags (at most three
 * badges and "+N more"), summary and difficulty, a regenerate button that follows its task, the
 * tenant's SHOW_AI_META and regenerate-on-change settings, and a panel of the nightly back-fill
 * runs. Everything comes from the pipeline's routes and the core task API.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, query, request } from '@dashboard/api/client.ts';
import type { Task, TaskPage } from '@dashboard/api/types.ts';
import { Link } from '@dashboard/components/link.tsx';
import { RelativeTime } from '@dashboard/components/relative-time.tsx';
import { ProgressBar } from '@dashboard/components/progress-bar.tsx';
import { StatusBadge, Tag } from '@dashboard/components/status-badge.tsx';
import type { DashboardPage } from '@dashboard/lib/pipeline-pages.ts';
import { shortId } from '@dashboard/lib/format.ts';
import { useLoader } from '@dashboard/lib/hooks.ts';
import { ErrorNotice } from '@dashboard/pages/shared.tsx';

/** Tag badges shown before "+N more" (seed 003's TagBadgeList maxTags). */
export const visibleTags = 3;

interface ProjectRow {
  id: string;
  name: string;
  project_type: 'self_study' | 'school';
  course_name: string | null;
  goal_description: string | null;
  is_draft: boolean;
  created_at: string;
  ai_generated_tags: string[] | null;
  content_summary: string | null;
  difficulty_level: string | null;
  ai_model_used: string | null;
  ai_generated_at: string | null;
}

interface Settings {
  show_ai_meta: boolean;
  regenerate_on_change: boolean;
  generation_enabled: boolean;
}

interface GenerateAnswer {
  message: string;
  task_id?: string;
  already_running?: boolean;
}

export function TagBadges({ tags, max = visibleTags }: { tags: string[]; max?: number }) {
  const shown = tags.slice(0, max);
  const hidden = tags.length - shown.length;
  return (
    <ul aria-label="AI tags" data-testid="tag-badges" style={inlineList}>
      {shown.map((tag) => <li key={tag}><Tag tone="info">{tag}</Tag></li>)}
      {hidden > 0 ? <li><span class="tag" title={tags.slice(max).join(', ')} data-testid="more-tags">+{hidden} more</span></li> : null}
    </ul>
  );
}

// The dashboard's stylesheet is shared; the few layout rules this page needs stay with it.
const inlineList = { display: 'flex', flexWrap: 'wrap', gap: '0.35rem', listStyle: 'none', padding: 0, margin: '0.5rem 0' } as const;
const cardList = { listStyle: 'none', padding: 0, margin: 0, display: 'grid', gap: '0.75rem' } as const;

const difficultyTone: Record<string, 'good' | 'warn' | 'bad'> = { beginner: 'good', intermediate: 'warn', advanced: 'bad' };

function RegenerateButton({ project, onDone }: { project: ProjectRow; onDone: () => void }) {
  const [task, setTask] = useState<{ id: string; status: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const busy = task !== null && !['completed', 'failed', 'cancelled'].includes(task.status);

  const follow = async (taskId: string): Promise<void> => {
    for (;;) {
      const current = await request<Task>(`/api/v1/tasks/${taskId}`);
      setTask({ id: taskId, status: current.status });
      if (['completed', 'failed', 'cancelled'].includes(current.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    onDone();
  };

  const regenerate = async (): Promise<void> => {
    setError(null);
    try {
      const answer = await request<GenerateAnswer>(`/api/projects/${project.id}/generate_metadata/${query({ force: project.ai_generated_tags ? 'true' : undefined })}`, { method: 'POST' });
      if (!answer.task_id) return onDone();
      setTask({ id: answer.task_id, status: 'queued' });
      await follow(answer.task_id);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, 'client_error', (failure as Error).message));
    }
  };

  return (
    <div class="facts-inline">
      <button type="button" class="button" disabled={busy} onClick={() => void regenerate()} data-testid="regenerate">
        {busy ? 'Generating…' : project.ai_generated_tags ? 'Regenerate' : 'Generate'}
      </button>
      {task ? <Link href={`/tasks/${task.id}`}><StatusBadge status={task.status as Task['status']} /></Link> : null}
      {error ? <span class="field-error" role="alert">{error.message}</span> : null}
    </div>
  );
}

function ProjectCard({ project, showTags, onChanged }: { project: ProjectRow; showTags: boolean; onChanged: () => void }) {
  return (
    <li class="panel" data-project-id={project.id} style={{ margin: 0 }}>
      <div class="panel-header">
        {/* A name typed as one long word wraps rather than push a phone's page sideways. */}
        <h3 style={{ overflowWrap: 'anywhere' }}>{project.name}</h3>
        <span class="muted small">{project.project_type === 'school' ? `School${project.course_name ? ` · ${project.course_name}` : ''}` : 'Self-study'}{project.is_draft ? ' · draft' : ''}</span>
      </div>
      {project.ai_generated_tags ? (
        <>
          {showTags ? <TagBadges tags={project.ai_generated_tags} /> : null}
          <p class="prose" data-testid="summary">{project.content_summary}</p>
          <p class="small facts-inline">
            <span>Difficulty: <Tag tone={difficultyTone[project.difficulty_level ?? ''] ?? 'info'}>{project.difficulty_level ?? '–'}</Tag></span>
            <span class="muted">by {project.ai_model_used} <RelativeTime iso={project.ai_generated_at} /></span>
          </p>
        </>
      ) : <p class="muted small">No AI metadata yet.</p>}
      <RegenerateButton project={project} onDone={onChanged} />
    </li>
  );
}

function SettingsPanel({ settings: saved, onSaved }: { settings: Settings; onSaved: () => void }) {
  const [error, setError] = useState<ApiError | null>(null);
  // Shown at once (a controlled checkbox would otherwise snap back until the PUT answers), and
  // put back to what the server holds when the save fails.
  const [settings, setSettings] = useState(saved);
  useEffect(() => setSettings(saved), [saved]);
  const save = async (change: Partial<Settings>): Promise<void> => {
    setSettings((current) => ({ ...current, ...change }));
    try {
      await request('/api/smart-metadata/settings', { method: 'PUT', body: change });
      setError(null);
      onSaved();
    } catch (failure) {
      setSettings(saved);
      setError(failure instanceof ApiError ? failure : new ApiError(0, 'client_error', (failure as Error).message));
    }
  };
  return (
    <section class="panel" aria-labelledby="metadata-settings-title">
      <h2 id="metadata-settings-title">Settings</h2>
      <label class="field-checkbox">
        <input type="checkbox" checked={settings.show_ai_meta} onChange={(event) => void save({ show_ai_meta: event.currentTarget.checked })} data-testid="show-ai-meta" />
        Show AI tags (SHOW_AI_META)
      </label>
      <label class="field-checkbox">
        <input type="checkbox" checked={settings.regenerate_on_change} onChange={(event) => void save({ regenerate_on_change: event.currentTarget.checked })} />
        Regenerate metadata when a project's content changes
      </label>
      {settings.generation_enabled ? null : <p class="notice">Generation is switched off on this server (ENABLE_STI=false).</p>}
      <ErrorNotice error={error} />
    </section>
  );
}

function NightlyRuns() {
  const runs = useLoader((signal) => request<TaskPage>(`/api/v1/tasks${query({ task_type: 'generate_missing_metadata', limit: 10 })}`, { signal }), 'nightly-runs', 5000);
  return (
    <section class="panel" aria-labelledby="nightly-runs-title" data-testid="nightly-runs">
      <h2 id="nightly-runs-title">Nightly back-fill runs</h2>
      <ErrorNotice error={runs.error} />
      {runs.data && runs.data.tasks.length === 0 ? <p class="muted small">No run yet. The back-fill runs every night; <code>taskloom projects backfill</code> starts one now.</p> : null}
      <ul style={{ ...cardList, gap: '0.5rem' }}>
        {runs.data?.tasks.map((run) => {
          const result = run.result as { generated?: number; refreshed?: number; failed?: number; processed?: number } | null;
          return (
            <li key={run.id}>
              <Link href={`/tasks/${run.id}`}><code>{shortId(run.id)}</code></Link> <StatusBadge status={run.status} />
              <span class="muted small"> <RelativeTime iso={run.created_at} /></span>
              {result ? <span class="small"> · {result.generated ?? 0} generated{result.refreshed ? ` (${result.refreshed} outdated)` : ''}, {result.failed ?? 0} failed of {result.processed ?? 0}</span> : null}
              {run.status === 'running' ? <ProgressBar value={run.progress} label={`Progress of run ${shortId(run.id)}`} status={run.status} /> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** Projects a page of the list shows at first and loads at a time. */
const projectsPerPage = 100;
/** The most `GET /api/projects` answers at once. */
const maxProjectsPerRequest = 200;

export function ProjectsPage() {
  // How many of the newest projects are shown: every refresh (and a card's regeneration) reads all
  // of them again, from the newest. Kept as pages read from their old cursors, older pages went
  // stale, and a project pushed off the first page by newer ones was in neither list.
  const [wanted, setWanted] = useState(projectsPerPage);
  const projects = useLoader(async (signal) => {
    const read: ProjectRow[] = [];
    let cursor: string | null = null;
    do {
      const page: { projects: ProjectRow[]; next_cursor: string | null } = await request(`/api/projects${query({ limit: Math.min(maxProjectsPerRequest, wanted - read.length), cursor })}`, { signal });
      read.push(...page.projects);
      cursor = page.next_cursor;
    } while (cursor !== null && read.length < wanted);
    return { projects: read, next_cursor: cursor };
  }, 'projects', 10_000);
  const { reload } = projects;
  const firstRender = useRef(true);
  useEffect(() => {
    // The first render loads already.
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    reload();
  }, [wanted, reload]);
  const cursor = projects.data?.next_cursor ?? null;
  const shown = projects.data?.projects ?? [];
  const settings = useLoader((signal) => request<Settings>('/api/smart-metadata/settings', { signal }), 'metadata-settings');
  return (
    <div class="page">
      <div class="page-header">
        <h1>Projects</h1>
        <p class="muted">AI tags, summaries and difficulty levels of study projects.</p>
      </div>
      <ErrorNotice error={projects.error ?? settings.error} />
      <div class="grid-2">
        <section class="panel" aria-labelledby="projects-title">
          <h2 id="projects-title">Projects</h2>
          {projects.data && projects.data.projects.length === 0 ? <p class="muted">No project yet. Create one with <code>POST /api/projects</code> or <code>taskloom projects create</code>.</p> : null}
          <ul data-testid="project-list" style={cardList}>
            {shown.map((project) => (
              <ProjectCard key={project.id} project={project} showTags={settings.data?.show_ai_meta ?? false} onChanged={projects.reload} />
            ))}
          </ul>
          {cursor ? <p class="muted small">{shown.length} projects shown, newest first; older ones exist. <button class="button button-quiet" data-testid="load-more-projects" onClick={() => setWanted((count) => count + projectsPerPage)}>Load {projectsPerPage} more</button></p> : null}
        </section>
        <div>
          {settings.data ? <SettingsPanel settings={settings.data} onSaved={settings.reload} /> : null}
          <NightlyRuns />
        </div>
      </div>
    </div>
  );
}

export const page: DashboardPage = {
  navigation: { href: '/projects', label: 'Projects', active: (path) => path === '/projects' },
  render: (path) => (path === '/projects' ? <ProjectsPage /> : null),
};
