/**
 * `/learning` and `/learning/jobs/:id`: the "Start Big Learning Job" button (and quick / deep
 * runs), the job's status badge, progress bar, tokens-learned counter and live event log, and a
 * knowledge browser (search, category, one word's full entry).
 *
 * The job document comes from `WS /ws/jobs/{id}`; the event log is the task's own event stream
 * (SSE, resumable); the knowledge from `GET /knowledge` and `GET /knowledge/{word}`.
 *
 * The knowledge browser re-reads at most once every `knowledgeRefreshMs` while the job learns, and
 * once more when it ends. An offline big job sends ~17 documents a second, each with more tokens:
 * re-reading on every one made 17-34 requests a second on the page's key, so after ~40 s the
 * per-key limit (TASKLOOM_API_RATE_LIMIT, 1,200 a minute) answered 429 to everything, the Cancel
 * button included.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, query, request } from '@dashboard/api/client.ts';
import { TaskEventStream, type StreamState } from '@dashboard/api/event-streams.ts';
import type { TaskEvent } from '@dashboard/api/types.ts';
import { EventLog, StreamIndicator } from '@dashboard/components/event-log.tsx';
import { ProgressBar } from '@dashboard/components/progress-bar.tsx';
import { Link } from '@dashboard/components/link.tsx';
import { StatusBadge } from '@dashboard/components/status-badge.tsx';
import { formatNumber, formatTime, shortId } from '@dashboard/lib/format.ts';
import { useLoader, useThrottled } from '@dashboard/lib/hooks.ts';
import { revealAfterRender } from '@dashboard/lib/reveal.ts';
import { navigate } from '@dashboard/lib/router.ts';
import { ErrorNotice } from '@dashboard/pages/shared.tsx';
import type { KnowledgeEntry } from '../schemas.ts';
import { finishedStatuses, followJob, type JobDocument } from './job-stream.ts';

interface KnowledgePage {
  entries: KnowledgeEntry[];
  total: number;
  next_after: string | null;
  known_words: number;
  queued_words: number;
  given_up_words: number;
}

const lastJobKey = 'taskloom.learning.lastJob';

/**
 * Least time between two reads of the knowledge while a job learns: one list read (and one entry
 * read with a word open) every 2 s is 30 (60) requests a minute, 2.5 % (5 %) of the default limit.
 */
const knowledgeRefreshMs = 2000;

/**
 * `onLearned` runs on every document whose token count changed (throttle it); `onEnded` once,
 * on the first document of a finished job.
 */
function JobPanel({ jobId, onLearned, onEnded }: { jobId: string; onLearned: () => void; onEnded: () => void }) {
  const [document, setDocument] = useState<JobDocument | null>(null);
  const [jobState, setJobState] = useState<StreamState>('connecting');
  const [events, setEvents] = useState<TaskEvent[]>([]);
  const [eventState, setEventState] = useState<StreamState>('connecting');
  const [error, setError] = useState<ApiError | null>(null);
  const eventsRef = useRef<TaskEvent[]>([]);
  const learnedRef = useRef(0);
  const endedRef = useRef(false);

  useEffect(() => {
    setDocument(null);
    eventsRef.current = [];
    setEvents([]);
    learnedRef.current = 0;
    endedRef.current = false;
    request<JobDocument>(`/jobs/${encodeURIComponent(jobId)}`).then(setDocument, (failure: unknown) => setError(failure as ApiError));
    const stopJob = followJob(jobId, (next) => {
      setDocument(next);
      const learned = next.total_tokens !== learnedRef.current;
      learnedRef.current = next.total_tokens;
      if (finishedStatuses.has(next.status)) {
        // The end state at once (words queued or given up change without a token count change).
        if (!endedRef.current) onEnded();
        endedRef.current = true;
      } else if (learned) {
        // The knowledge browser re-reads when the job learned more words.
        onLearned();
      }
    }, setJobState, setError);
    const stream = new TaskEventStream(jobId, 0, {
      onEvents: (batch) => {
        // The log keeps the most recent 500 events: a 10-minute job appends thousands.
        eventsRef.current = [...eventsRef.current, ...batch].slice(-500);
        setEvents(eventsRef.current);
      },
      onState: setEventState,
    });
    stream.connect();
    return () => {
      stopJob();
      stream.close();
    };
  }, [jobId]);

  const cancel = async (): Promise<void> => {
    try {
      setDocument(await request<JobDocument>(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' }));
    } catch (failure) {
      setError(failure as ApiError);
    }
  };

  return (
    <section class="panel" aria-labelledby="job-heading" data-testid="learning-job">
      <div class="panel-header">
        <h2 id="job-heading">Job <code title={jobId}>{shortId(jobId)}</code>{document ? ` · ${document.mode}` : ''}</h2>
        {document ? <StatusBadge status={document.status} large /> : null}
      </div>
      <ErrorNotice error={error} action="Job" />
      {document ? (
        <>
          <ProgressBar value={document.progress} label="Job progress" status={document.status} />
          <ul class="stat-grid stat-grid-wide">
            <li class="stat"><div class="stat-link"><span class="stat-value" data-testid="tokens-learned">{formatNumber(document.total_tokens)}</span><span class="stat-label">tokens learned</span></div></li>
            <li class="stat"><div class="stat-link"><span class="stat-value">{document.last_round}</span><span class="stat-label">rounds</span><span class="stat-note">{formatNumber(document.words_proposed)} proposed · {formatNumber(document.words_queued)} queued · {formatNumber(document.words_failed)} not learned</span></div></li>
            <li class="stat"><div class="stat-link"><span class="stat-value small">{document.deadline_at ? formatTime(document.deadline_at) : '–'}</span><span class="stat-label">deadline</span><span class="stat-note">started {formatTime(document.created_at)}{document.finished_at ? ` · ended ${formatTime(document.finished_at)}` : ''}</span></div></li>
          </ul>
          {document.errors.length > 0 ? (
            <details class="small">
              <summary>{document.errors.length} recent error{document.errors.length === 1 ? '' : 's'}</summary>
              <ul>{document.errors.map((entry, index) => <li key={index}><code>{entry.code}</code> {entry.message}</li>)}</ul>
            </details>
          ) : null}
          <p class="small"><StreamIndicator state={jobState} />{' '}{finishedStatuses.has(document.status) ? null : <button type="button" class="button button-danger" onClick={() => void cancel()}>Cancel job</button>}</p>
        </>
      ) : error ? null : <p class="muted">Loading…</p>}
      <EventLog events={events} state={eventState} label="Live event log" />
    </section>
  );
}

const knowledgePageSize = 100;

/** "101-200 of 1,234": the words on page `page` (from 1) of the list. */
function shownRange(page: number, list: KnowledgePage): string {
  if (list.entries.length === 0) return `none of ${formatNumber(list.total)}`;
  const first = (page - 1) * knowledgePageSize + 1;
  return `${formatNumber(first)}-${formatNumber(first + list.entries.length - 1)} of ${formatNumber(list.total)}`;
}

/** `version` changes when the knowledge may have changed: the list and the open entry re-read. */
function KnowledgeBrowser({ version }: { version: number }) {
  const [search, setSearch] = useState('');
  const [category, setCategory] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  // The pages read so far, as the `after` cursor each began at ('' for the first): Previous
  // goes back one without the API having to page backwards. A new search starts over.
  const [pageStarts, setPageStarts] = useState<string[]>(['']);
  const after = pageStarts[pageStarts.length - 1]!;
  const entryPanel = useRef<HTMLDivElement>(null);
  const filter = (set: (value: string) => void) => (event: Event): void => {
    set((event.target as HTMLInputElement).value);
    setPageStarts(['']);
  };
  // The keys name what is shown, not the version: a new key clears the data, while reload()
  // keeps the list and the entry on screen until the new read answers (they no longer blank out
  // on every refresh).
  const list = useLoader((signal) => request<KnowledgePage>(`/knowledge${query({ search: search.trim(), category: category.trim(), limit: knowledgePageSize, after })}`, { signal }), `${search}|${category}|${after}`);
  const entry = useLoader((signal) => (selected ? request<KnowledgeEntry>(`/knowledge/${encodeURIComponent(selected)}`, { signal }) : Promise.resolve(null)), `${selected}`);
  // Revealed once its entry has rendered: the panel is the page's last, so before that there may
  // be too little below it to scroll it up.
  const revealPending = useRef(false);
  useEffect(() => {
    if (!revealPending.current || !entry.data) return;
    revealPending.current = false;
    revealAfterRender(entryPanel);
  }, [entry.data]);
  const { reload: reloadList } = list;
  const { reload: reloadEntry } = entry;
  useEffect(() => {
    // The first render already loads both.
    if (version === 0) return;
    reloadList();
    reloadEntry();
  }, [version, reloadList, reloadEntry]);

  return (
    <section class="panel" aria-labelledby="knowledge-heading" data-testid="knowledge-browser">
      <div class="panel-header">
        <h2 id="knowledge-heading">Knowledge</h2>
        {list.data ? <span class="muted small">{formatNumber(list.data.known_words)} known · {formatNumber(list.data.queued_words)} waiting{list.data.given_up_words > 0 ? ` · ${formatNumber(list.data.given_up_words)} given up after 3 failures` : ''}</span> : null}
      </div>
      <div class="filters">
        <div class="field"><label for="knowledge-search">Search</label><input id="knowledge-search" type="search" value={search} onInput={filter(setSearch)} placeholder="word" /></div>
        <div class="field"><label for="knowledge-category">Category</label><input id="knowledge-category" value={category} onInput={filter(setCategory)} placeholder="noun.animal or noun" /></div>
      </div>
      <ErrorNotice error={list.error} action="Knowledge" />
      <div class="grid-2">
        <div class="table-scroll table-scroll-tall">
          <table class="data-table compact">
            <thead><tr><th>word</th><th>category</th><th>source</th></tr></thead>
            <tbody>
              {(list.data?.entries ?? []).map((row) => (
                <tr key={row.normalised} aria-selected={selected === row.normalised}>
                  <td><button type="button" class="button button-quiet" onClick={() => { setSelected(row.normalised); revealPending.current = true; }}>{row.word}</button></td>
                  <td>{row.category ?? '–'}</td>
                  <td class="small">{row.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data ? (
            <div class="pager">
              <span class="muted small" data-testid="knowledge-shown">{shownRange(pageStarts.length, list.data)}</span>
              <button type="button" class="button" disabled={pageStarts.length === 1} onClick={() => setPageStarts((starts) => starts.slice(0, -1))}>Previous</button>
              <button type="button" class="button" disabled={list.data.next_after === null || (pageStarts.length - 1) * knowledgePageSize + list.data.entries.length >= list.data.total} onClick={() => setPageStarts((starts) => [...starts, list.data!.next_after!])}>Next</button>
            </div>
          ) : null}
        </div>
        <div data-testid="knowledge-entry" ref={entryPanel}>
          {entry.data ? (
            <article>
              <h3>{entry.data.word} <span class="muted small">{entry.data.category ?? ''}</span></h3>
              <p>{entry.data.definition ?? entry.data.explanation}</p>
              {entry.data.related_concepts.length > 0 ? <p class="small"><strong>Related:</strong> {entry.data.related_concepts.join(', ')}</p> : null}
              {entry.data.examples.length > 0 ? <ul class="small">{entry.data.examples.map((example) => <li key={example}><em>{example}</em></li>)}</ul> : null}
              {entry.data.expanded_definition ? <p class="small">{entry.data.expanded_definition}</p> : null}
              {entry.data.applications?.length ? <p class="small"><strong>Applications:</strong> {entry.data.applications.join(' ')}</p> : null}
              {entry.data.misconceptions?.length ? <p class="small"><strong>Misconceptions:</strong> {entry.data.misconceptions.join(' ')}</p> : null}
              <p class="muted small">source {entry.data.source} · learned {formatTime(entry.data.learned_at)}</p>
            </article>
          ) : <p class="muted small">Pick a word to see its entry.</p>}
        </div>
      </div>
    </section>
  );
}

export function LearningPage({ jobId }: { jobId?: string }) {
  const [error, setError] = useState<ApiError | null>(null);
  const [starting, setStarting] = useState(false);
  const [version, setVersion] = useState(0);
  const refreshKnowledge = (): void => setVersion((value) => value + 1);
  // Trailing: the last words learned are shown at most 2 s after they come.
  const refreshKnowledgeSoon = useThrottled(refreshKnowledge, knowledgeRefreshMs);
  const lastJob = jobId ?? (typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(lastJobKey));
  const runningTaskId = error?.code === 'concurrency_conflict' ? (error.details as { running_task_id?: unknown }).running_task_id : undefined;
  const running = typeof runningTaskId === 'string' ? runningTaskId : null;

  const start = async (path: string, body: unknown): Promise<void> => {
    setStarting(true);
    setError(null);
    try {
      const started = await request<{ job_id: string }>(path, { method: 'POST', body });
      sessionStorage.setItem(lastJobKey, started.job_id);
      navigate(`/learning/jobs/${started.job_id}`);
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setStarting(false);
    }
  };

  return (
    <div class="page">
      <div class="page-header">
        <h1>Learning</h1>
        <div>
          <button type="button" class="button button-primary" disabled={starting} onClick={() => void start('/jobs/start_big', {})}>Start Big Learning Job</button>{' '}
          <button type="button" class="button" disabled={starting} onClick={() => void start('/jobs/start', { mode: 'quick' })}>Quick run</button>{' '}
          <button type="button" class="button" disabled={starting} onClick={() => void start('/jobs/start', { mode: 'deep' })}>Deep run</button>
        </div>
      </div>
      {running === null ? <ErrorNotice error={error} action="Start" /> : running !== lastJob ? (
        // A big job another tab (or the CLI) started: this tab did not remember it.
        <p class="notice" role="status" data-testid="job-already-running">
          A big learning job is already running for this tenant. <Link href={`/learning/jobs/${running}`}>Follow it</Link>
        </p>
      ) : null}
      {lastJob ? <JobPanel jobId={lastJob} onLearned={refreshKnowledgeSoon} onEnded={refreshKnowledge} /> : <p class="muted">No job started from this tab yet.</p>}
      <KnowledgeBrowser version={version} />
    </div>
  );
}
