/**
 * The content pipeline's dashboard pages: companies, a company (DNA, personas, the topics calendar
 * by month and week, posts, runs), the supervisor's approvals inbox (approve, reject with a
 * reason, edit before approving), a blog post preview rendered from its markdown with the social
 * previews per platform (characters and hashtags against the platform's limits), and a run as a
 * tree of tasks with live progress. Text written by the offline model is labelled as a stand-in.
 */
import { useState } from 'preact/hooks';
import { request } from '@dashboard/api/client.ts';
import { Link } from '@dashboard/components/link.tsx';
import { ProgressBar } from '@dashboard/components/progress-bar.tsx';
import { Tag } from '@dashboard/components/status-badge.tsx';
import { useLoader } from '@dashboard/lib/hooks.ts';
import { navigate } from '@dashboard/lib/router.ts';
import { ErrorNotice } from '@dashboard/pages/shared.tsx';
import { composePost, platformRules } from '../platform-rules.ts';
import type { Platform } from '../schemas.ts';
import { writtenOffline } from '../written-by.ts';
import { Markdown } from './markdown.tsx';

type Row = Record<string, any>;
const statusTone: Record<string, 'good' | 'bad' | 'warn' | 'info' | undefined> = { approved: 'good', published: 'good', completed: 'good', rejected: 'bad', failed: 'bad', cancelled: 'warn', pending_approval: 'warn', generating: 'info', processing: 'info', pending: 'info' };
const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function Status({ status }: { status: string }) {
  return <Tag tone={statusTone[status]}>{status.replace('_', ' ')}</Tag>;
}

/**
 * Says so when new text would be written by the offline model: no provider serves the writing
 * model (none at all, or one for research only). Rows it wrote carry `OfflineTag` whatever the
 * configuration is now.
 */
export function OfflineNotice() {
  const status = useLoader((signal) => request<{ offline: boolean; writing_offline: boolean; writing_model: string }>('/api/v1/ai/status', { signal }), 'status');
  if (!status.data?.writing_offline) return null;
  return <p class="notice" data-testid="offline-notice">Offline stand-in text: {status.data.offline ? 'no model provider is configured' : 'no provider serves the writing model'}, so new content is written by taskloom's offline model ({status.data.writing_model}). It shows the pipeline working end to end; it is not copy to publish. Rows it wrote are marked "offline stand-in".</p>;
}

/** Marks a row whose text the offline model wrote (its `model`), not copy to publish. */
function OfflineTag({ row }: { row: Row }) {
  return writtenOffline(row.model) ? <span data-testid="offline-row" title={`Written by ${row.model}`}><Tag tone="warn">offline stand-in</Tag></span> : null;
}

export function CompaniesPage() {
  const companies = useLoader((signal) => request<{ companies: Row[] }>('/api/v1/content/companies', { signal }), 'companies');
  const [name, setName] = useState('');
  const [website, setWebsite] = useState('');
  const [plan, setPlan] = useState('free');
  const [error, setError] = useState<unknown>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    try {
      const company = await request<Row>('/api/v1/content/companies', { method: 'POST', body: { name, plan, ...(website ? { website } : {}) } });
      navigate(`/content/companies/${company.id}`);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section class="page">
      <header class="page-header"><h1>Content</h1><Link href="/content/approvals">Approvals inbox</Link></header>
      <OfflineNotice />
      <ErrorNotice error={companies.error} />
      <ul class="card-list">{(companies.data?.companies ?? []).map((company) => <li class="card-list-item" key={company.id}><Link href={`/content/companies/${company.id}`}>{company.name}</Link> <Tag>{company.plan}</Tag></li>)}</ul>
      <form class="task-form" onSubmit={create}>
        <h2>New company</h2>
        <label class="field">Name <input value={name} onInput={(event) => setName(event.currentTarget.value)} required /></label>
        <label class="field">Website <input value={website} onInput={(event) => setWebsite(event.currentTarget.value)} placeholder="https://" /></label>
        <label class="field">Plan <select value={plan} onChange={(event) => setPlan(event.currentTarget.value)}><option>free</option><option>pro</option><option>ultimate</option></select></label>
        <ErrorNotice error={error as never} />
        <div class="form-actions"><button class="button button-primary" type="submit">Create</button></div>
      </form>
    </section>
  );
}

/** Topics by week of the month: the calendar a marketer plans in. */
function TopicCalendar({ topics, personas }: { topics: Row[]; personas: Row[] }) {
  const names = new Map(personas.map((persona) => [persona.id, persona.name]));
  const weeks = [1, 2, 3, 4, 5].filter((week) => week <= 4 || topics.some((topic) => topic.week_number === 5));
  return (
    <div class="stat-grid stat-grid-wide" data-testid="topic-calendar">
      {weeks.map((week) => (
        <div class="panel" key={week}>
          <h4>Week {week}</h4>
          <ul class="plain-list">{topics.filter((topic) => topic.week_number === week).map((topic) => <li key={topic.id}><Status status={topic.status} /> {topic.title} <OfflineTag row={topic} /> <span class="muted small">· {names.get(topic.persona_id) ?? 'persona'}</span></li>)}</ul>
        </div>
      ))}
    </div>
  );
}

export function CompanyPage({ companyId }: { companyId: string }) {
  const now = new Date();
  const [year, setYear] = useState(now.getUTCFullYear());
  const [month, setMonth] = useState(now.getUTCMonth() + 1);
  const company = useLoader((signal) => request<Row>(`/api/v1/content/companies/${companyId}`, { signal }), companyId, 5000);
  const topics = useLoader((signal) => request<{ topics: Row[] }>(`/api/v1/content/topics?company_id=${companyId}&year=${year}&month=${month}`, { signal }), `${companyId}:${year}:${month}`, 5000);
  const posts = useLoader((signal) => request<{ posts: Row[] }>(`/api/v1/content/posts?company_id=${companyId}`, { signal }), `posts:${companyId}`, 5000);
  const jobs = useLoader((signal) => request<{ jobs: Row[] }>(`/api/v1/ai/companies/${companyId}/jobs`, { signal }), `jobs:${companyId}`, 3000);
  const [selection, setSelection] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const act = async (path: string, body: unknown, then?: (answer: Row) => void) => {
    try {
      const answer = await request<Row>(path, { method: 'POST', body });
      setError(null);
      then?.(answer);
      jobs.reload();
      company.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const data = company.data;
  if (!data) return <section class="page"><ErrorNotice error={company.error} /></section>;
  const personas = (data.personas ?? []) as Row[];
  // The boxes start as the active personas, and the button confirms what they show: with nothing
  // changed yet, that is the active set (a run waiting for a selection takes it as it is).
  const chosen = selection.length > 0 ? selection : personas.filter((entry) => entry.status === 'active').map((entry) => entry.id as string);
  return (
    <section class="page">
      <header class="page-header"><h1>{data.name} <Tag>{data.plan}</Tag></h1><Link href="/content">All companies</Link></header>
      <OfflineNotice />
      <ErrorNotice error={error as never} />
      <div class="header-actions">
        <button class="button" onClick={() => act(`/api/v1/ai/companies/${companyId}/scrape-dna/`, {})}>Research DNA</button>
        <button class="button" onClick={() => act(`/api/v1/ai/companies/${companyId}/generate-personas/`, {})}>Generate personas</button>
        <button class="button button-primary" onClick={() => act(`/api/v1/ai/companies/${companyId}/content-pipeline/`, { year, month, posts_count: 8 }, (answer) => navigate(`/content/runs/${answer.job_id}`))}>Run {monthNames[month - 1]} {year}</button>
      </div>

      <h2>DNA</h2>
      {/* `isOfflineModel` (src/llm) on the server; the page reads the prefix of the id it stored. */}
      {data.dna && String(data.dna.model).startsWith('offline:') ? <p class="muted small" data-testid="dna-offline">Researched offline: the offline model reads no web page, so every point but the name is "Not found" rather than made up. Set a research model's key, or fill the points in with <code>PATCH /api/v1/content/companies/{companyId}/dna</code>.</p> : null}
      {data.dna ? (
        <dl class="facts" data-testid="dna">
          {Object.entries(data.dna.data as Row).map(([field, value]) => {
            const missing = value === null || value === 'Not found' || (Array.isArray(value) && value.length === 0);
            return [<dt key={`${field}-t`}>{field.replaceAll('_', ' ')}</dt>, <dd key={`${field}-d`} class={missing ? 'muted' : ''}>{missing ? 'Not found' : Array.isArray(value) ? value.join(', ') : String(value)}</dd>];
          })}
        </dl>
      ) : <p class="muted">Not researched yet.</p>}

      <h2>Personas</h2>
      <ul class="card-list" data-testid="personas">
        {personas.map((persona) => (
          <li class="card-list-item" key={persona.id}>
            <label><input type="checkbox" checked={selection.includes(persona.id) || (selection.length === 0 && persona.status === 'active')} onChange={(event) => setSelection((current) => {
              const base = current.length === 0 ? personas.filter((entry) => entry.status === 'active').map((entry) => entry.id) : current;
              return event.currentTarget.checked ? [...new Set([...base, persona.id])] : base.filter((id) => id !== persona.id);
            })} /> <strong>{persona.name}</strong></label> <Tag>{persona.archetype}</Tag> <Tag>{persona.mbti}</Tag> <Status status={persona.status} /> <OfflineTag row={persona} />
            <p class="small">{persona.bio}</p>
            <p class="muted small">Values: {persona.values.join(', ')} · Expertise: {persona.expertise_topics.join(', ')} · {persona.vocabulary_level} vocabulary</p>
          </li>
        ))}
      </ul>
      {personas.length > 0 ? <button class="button" disabled={chosen.length === 0} onClick={() => act('/api/v1/content/personas/select', { company_id: companyId, persona_ids: chosen }, () => setSelection([]))}>Select these personas</button> : null}

      <h2>Topics</h2>
      <div class="filters">
        <label class="field field-inline">Month <select value={month} onChange={(event) => setMonth(Number(event.currentTarget.value))}>{monthNames.map((label, index) => <option key={label} value={index + 1}>{label}</option>)}</select></label>
        <label class="field field-inline">Year <input type="number" value={year} min={2000} max={2100} onInput={(event) => {
          // A box being cleared or typed into holds no year yet: the last whole one stays.
          const typed = Number(event.currentTarget.value);
          if (Number.isInteger(typed) && typed >= 2000 && typed <= 2100) setYear(typed);
        }} /></label>
      </div>
      <TopicCalendar topics={topics.data?.topics ?? []} personas={personas} />

      <h2>Blog posts</h2>
      <ul class="card-list">{(posts.data?.posts ?? []).map((post) => <li class="card-list-item" key={post.id}><Link href={`/content/posts/${post.id}`}>{post.title}</Link> <Status status={post.status} /> <OfflineTag row={post} /> <span class="muted small">{post.word_count} words · {post.reading_time_minutes} min</span></li>)}</ul>

      <h2>Jobs</h2>
      <div class="table-scroll">
        <table class="data-table">
          <thead><tr><th>Job</th><th>Status</th><th>Progress</th><th>Queue</th></tr></thead>
          <tbody>{(jobs.data?.jobs ?? []).map((job) => <tr key={job.id}><td><Link href={`/content/runs/${job.id}`}>{job.job_type}</Link></td><td><Status status={job.status} /></td><td><ProgressBar value={job.progress} label={job.progress_message} />{job.progress_message ? <span class="muted small" data-testid="job-message">{job.progress_message}</span> : null}</td><td>{job.queue}</td></tr>)}</tbody>
        </table>
      </div>
    </section>
  );
}

function ApprovalItem({ item, companyName, onDone }: { item: Row; companyName: string | undefined; onDone: () => void }) {
  const path = item.kind === 'topic' ? 'topics' : item.kind === 'blog_post' ? 'posts' : 'social-posts';
  const detail = useLoader((signal) => request<Row>(`/api/v1/content/${path}/${item.id}`, { signal }), item.id);
  const [reason, setReason] = useState('');
  const [regenerate, setRegenerate] = useState(true);
  const [edit, setEdit] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const field = item.kind === 'topic' ? 'description' : item.kind === 'blog_post' ? 'content' : 'text';
  const decide = async (action: 'approve' | 'reject') => {
    try {
      await request(`/api/v1/content/${path}/${item.id}/${action}`, { method: 'POST', body: action === 'reject' ? { reason, regenerate } : edit !== null ? { edits: { [field]: edit } } : {} });
      onDone();
    } catch (caught) {
      setError(caught);
    }
  };
  const row = detail.data;
  return (
    <li class="card-list-item" data-testid="approval" data-kind={item.kind}>
      <p><Tag>{item.kind.replace('_', ' ')}</Tag> {companyName ? <Link href={`/content/companies/${item.company_id}`} data-testid="approval-company">{companyName}</Link> : null} <strong>{item.title}</strong> <span class="muted small">v{item.version}</span> {row ? <OfflineTag row={row} /> : null} {item.kind === 'blog_post' ? <Link href={`/content/posts/${item.id}`}>preview</Link> : null}</p>
      {row && edit === null ? <p class="small">{String(row[field] ?? '').slice(0, 600)}</p> : null}
      {edit !== null ? <textarea rows={item.kind === 'blog_post' ? 16 : 5} value={edit} onInput={(event) => setEdit(event.currentTarget.value)} /> : null}
      <ErrorNotice error={error as never} />
      <div class="form-actions">
        <button class="button button-primary" onClick={() => decide('approve')}>{edit === null ? 'Approve' : 'Approve with edit'}</button>
        {edit === null && row ? <button class="button button-quiet" onClick={() => setEdit(String(row[field] ?? ''))}>Edit before approving</button> : null}
        <input placeholder="Reason for rejecting (required)" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
        <label class="field-checkbox"><input type="checkbox" checked={regenerate} onChange={(event) => setRegenerate(event.currentTarget.checked)} /> regenerate</label>
        <button class="button button-danger" disabled={reason.trim().length === 0} onClick={() => decide('reject')}>Reject</button>
      </div>
    </li>
  );
}

export function ApprovalsPage() {
  const pending = useLoader((signal) => request<{ pending: Row[] }>('/api/v1/content/pending-approvals', { signal }), 'pending', 3000);
  // Each item names its company: with two, their topics read alike.
  const companies = useLoader((signal) => request<{ companies: Row[] }>('/api/v1/content/companies', { signal }), 'companies');
  const companyNames = new Map((companies.data?.companies ?? []).map((company) => [company.id as string, company.name as string]));
  return (
    <section class="page">
      <header class="page-header"><h1>Approvals</h1><Link href="/content">Companies</Link></header>
      <OfflineNotice />
      <ErrorNotice error={pending.error} />
      {(pending.data?.pending ?? []).length === 0 ? <p class="muted">Nothing waits for a decision.</p> : null}
      <ul class="card-list">{(pending.data?.pending ?? []).map((item) => <ApprovalItem key={`${item.id}:${item.version}`} item={item} companyName={companyNames.get(item.company_id)} onDone={pending.reload} />)}</ul>
    </section>
  );
}

/** A social post as the platform shows it, with its counts against the platform's rules. */
function SocialPreview({ post }: { post: Row }) {
  const rule = platformRules[post.platform as Platform];
  const characters = [...composePost(post.text, post.hashtags)].length;
  const hashtagsOk = post.hashtags.length >= rule.minHashtags && post.hashtags.length <= rule.maxHashtags;
  return (
    <div class="panel" data-testid="social-preview" data-platform={post.platform}>
      <div class="panel-header"><h4>{post.platform}</h4> <Status status={post.status} /> <OfflineTag row={post} /></div>
      <p class="readable" style="white-space: pre-wrap">{composePost(post.text, post.hashtags)}</p>
      {post.cta_text ? <p class="small"><strong>{post.cta_text}</strong></p> : null}
      <p class="small"><Tag tone={characters <= rule.maxCharacters ? 'good' : 'bad'}>{`${characters} / ${rule.maxCharacters} characters`}</Tag> <Tag tone={hashtagsOk ? 'good' : 'bad'}>{`${post.hashtags.length} hashtags (${rule.minHashtags}-${rule.maxHashtags})`}</Tag></p>
    </div>
  );
}

export function PostPage({ postId }: { postId: string }) {
  const post = useLoader((signal) => request<Row>(`/api/v1/content/posts/${postId}`, { signal }), postId, 5000);
  const social = useLoader((signal) => request<{ social_posts: Row[] }>(`/api/v1/content/social-posts?blog_post_id=${postId}`, { signal }), `social:${postId}`, 5000);
  const data = post.data;
  if (!data) return <section class="page"><ErrorNotice error={post.error} /></section>;
  return (
    <section class="page">
      <header class="page-header"><h1>{data.title} <Status status={data.status} /> <OfflineTag row={data} /></h1><Link href={`/content/companies/${data.company_id}`}>Company</Link></header>
      <OfflineNotice />
      <dl class="facts facts-inline">
        <dt>Words</dt><dd>{data.word_count}</dd><dt>Reading time</dt><dd>{data.reading_time_minutes} min</dd>
        <dt>Meta title</dt><dd>{data.meta_title} ({data.meta_title.length}/60)</dd><dt>Meta description</dt><dd>{data.meta_description} ({data.meta_description.length}/160)</dd>
        <dt>Slug</dt><dd>{data.slug}</dd><dt>Keywords</dt><dd>{data.keywords.join(', ')}</dd>
      </dl>
      {data.featured_image_id ? <img src={`/api/v1/content/images/${data.featured_image_id}`} alt={`Featured image for ${data.title}`} /> : null}
      <article data-testid="post-preview"><Markdown source={data.content} /></article>
      <h2>Social posts</h2>
      <div class="stat-grid stat-grid-wide">{(social.data?.social_posts ?? []).map((entry) => <SocialPreview key={entry.id} post={entry} />)}</div>
    </section>
  );
}

export function RunPage({ jobId }: { jobId: string }) {
  // Live while the run goes on; a finished run's tree no longer changes.
  const [finished, setFinished] = useState(false);
  const tree = useLoader(async (signal) => {
    const answer = await request<{ nodes: Row[] }>(`/api/v1/ai/jobs/${jobId}/tree`, { signal });
    setFinished(answer.nodes.length > 0 && ['completed', 'failed', 'cancelled'].includes(String(answer.nodes[0]!.status)));
    return answer;
  }, jobId, finished ? undefined : 1000);
  return (
    <section class="page">
      <header class="page-header"><h1>Run</h1></header>
      <OfflineNotice />
      <ErrorNotice error={tree.error} />
      <ul class="plain-list" data-testid="run-tree">
        {(tree.data?.nodes ?? []).map((node) => (
          <li key={node.id} style={`margin-left: ${node.depth * 1.5}rem`}>
            <strong>{node.job_type}</strong> <Status status={node.status} /> {node.waiting ? <Tag tone="warn">waiting</Tag> : null}
            <ProgressBar value={node.progress} label={node.progress_message} status={node.task_status} />
            {node.progress_message ? <p class="muted small" data-testid="run-message">{node.progress_message}</p> : null}
            {node.error_message ? <p class="error-message small">{node.error_message}</p> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
