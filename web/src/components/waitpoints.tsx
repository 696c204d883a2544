/**
 * "Waiting for": a task's pending waitpoints (an input to give, a timer's wake time, children
 * and how many have settled), a completion form for each `input` one generated from its JSON
 * Schema, and the resolved ones as history.
 *
 * The form is the start form's generator (lib/schema-form.ts) pointed at the waitpoint's
 * schema. The API validates: its 400 issues (paths relative to the payload) go next to their
 * fields; a 409 `waitpoint_resolved` carries the first outcome, shown as "already decided by".
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { ApiError, request } from '../api/client.ts';
import { terminalStatuses, type JsonSchema, type Task, type Waitpoint } from '../api/types.ts';
import { between, formatDuration, formatTime } from '../lib/format.ts';
import { fieldsOf, initialText, issuesOnWholeValue, placeIssues, toTaskData, wholeValueField, type FormField } from '../lib/schema-form.ts';
import { ErrorNotice } from '../pages/shared.tsx';
import { JsonView } from './json-view.tsx';
import { ProgressBar } from './progress-bar.tsx';
import { FieldInput } from './schema-field.tsx';
import { Tag } from './status-badge.tsx';

const kindLabels: Record<Waitpoint['kind'], string> = { input: 'Input', timer: 'Timer', children: 'Child tasks' };
const outcomeTones = { completed: 'good', timed_out: 'warn', cancelled: 'bad', pending: 'info' } as const;

/** The one field that holds the whole payload when the schema is not an object of properties. */
const wholePayload = wholeValueField('payload', 'Payload');

/** A schema without properties (`z.boolean()`, none at all) is filled in as one JSON value. */
function formFieldsOf(schema: JsonSchema | null): { fields: FormField[]; whole: boolean } {
  if (schema && schema.properties && Object.keys(schema.properties).length > 0) return { fields: fieldsOf(schema), whole: false };
  return { fields: [wholePayload], whole: true };
}

/** What the API's 409 says about the first outcome, in words. */
export function firstOutcome(error: ApiError): string {
  const details = error.details as { status?: unknown; completed_by?: unknown; completed_at?: unknown };
  const by = typeof details.completed_by === 'string' ? details.completed_by : null;
  const at = typeof details.completed_at === 'string' ? ` at ${formatTime(details.completed_at)}` : '';
  if (details.status === 'completed') return `Already decided by ${by ?? 'someone else'}${at}.`;
  if (details.status === 'timed_out') return `Already decided: the wait timed out${at}.`;
  if (details.status === 'cancelled') return `Already decided: the wait was cancelled${at}.`;
  return error.message;
}

function CompletionForm({ waitpoint, onCompleted, onConflict }: { waitpoint: Waitpoint; onCompleted: () => void; onConflict: (message: string) => void }) {
  const { fields, whole } = useMemo(() => formFieldsOf(waitpoint.schema), [waitpoint.schema]);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((field) => [field.name, initialText(field)])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const idPrefix = `waitpoint-${waitpoint.id}`;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setFormError(null);
    const conversion = toTaskData(fields, texts);
    if (Object.keys(conversion.errors).length > 0) {
      setErrors(conversion.errors);
      return;
    }
    const payload = whole ? conversion.data.payload ?? null : conversion.data;
    setBusy(true);
    try {
      await request<Waitpoint>(`/api/v1/waitpoints/${encodeURIComponent(waitpoint.id)}/complete`, { method: 'POST', body: { payload } });
      setErrors({});
      onCompleted();
    } catch (failure) {
      const apiError = failure instanceof ApiError ? failure : new ApiError(0, 'client_error', (failure as Error).message);
      if (apiError.status === 409 && apiError.code === 'waitpoint_resolved') {
        onConflict(firstOutcome(apiError));
        return;
      }
      // Paths are relative to the payload; a whole-payload form owns every issue.
      const placed = whole ? issuesOnWholeValue(wholePayload.name, apiError.issues) : placeIssues(apiError.issues, fields.map((field) => field.name));
      setErrors(placed.byField);
      setFormError(Object.keys(placed.byField).length > 0 && placed.unplaced.length === 0 ? new ApiError(apiError.status, apiError.code, 'Some fields need fixing; see the messages next to them.') : apiError);
      const first = Object.keys(placed.byField)[0];
      if (first) document.getElementById(`${idPrefix}-${first}`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="waitpoint-form" onSubmit={submit} noValidate aria-label={`Complete ${waitpoint.key}`} data-testid="waitpoint-form">
      {formError ? <ErrorNotice error={formError} action="Not completed" /> : null}
      {fields.map((field) => (
        <FieldInput
          key={field.name}
          field={field}
          id={`${idPrefix}-${field.name}`}
          value={texts[field.name] ?? ''}
          error={errors[field.name]}
          onChange={(value) => setTexts({ ...texts, [field.name]: value })}
        />
      ))}
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Sending…' : `Complete ${waitpoint.key}`}</button>
      </div>
    </form>
  );
}

function PendingWaitpoint({ waitpoint, children, now, decidedElsewhere, onCompleted, onConflict }: { waitpoint: Waitpoint; children: Task[] | undefined; now: number; decidedElsewhere: JSX.Element | null; onCompleted: () => void; onConflict: (message: string) => void }) {
  const childIds = waitpoint.children ?? [];
  const settled = children ? children.filter((child) => childIds.includes(child.id) && terminalStatuses.includes(child.status)).length : null;
  return (
    <li class="waitpoint" data-waitpoint-id={waitpoint.id} data-kind={waitpoint.kind}>
      <h3 class="waitpoint-title">
        <Tag tone="info">{kindLabels[waitpoint.kind]}</Tag>
        <code>{waitpoint.key}</code>
      </h3>
      <p class="muted small">
        since {formatTime(waitpoint.created_at)} ({formatDuration(between(waitpoint.created_at, null, now))})
        {/* A wait decided elsewhere says what its timeout means itself. */}
        {waitpoint.kind !== 'timer' && waitpoint.timeout_at && !decidedElsewhere ? ` · times out at ${formatTime(waitpoint.timeout_at)}` : ''}
      </p>
      {decidedElsewhere}
      {waitpoint.kind === 'timer' ? (
        <p data-testid="timer-wake">
          Wakes at <time dateTime={waitpoint.timeout_at ?? undefined}>{formatTime(waitpoint.timeout_at)}</time>
          {waitpoint.timeout_at ? ` (in ${formatDuration(Math.max(0, Date.parse(waitpoint.timeout_at) - now))})` : ''}
        </p>
      ) : null}
      {waitpoint.kind === 'children' ? (
        <>
          <p data-testid="children-settled">{settled === null ? '…' : settled} of {childIds.length} child task{childIds.length === 1 ? '' : 's'} settled</p>
          <ProgressBar value={childIds.length > 0 && settled !== null ? Math.round((settled / childIds.length) * 100) : 0} label={`Child tasks of ${waitpoint.key} settled`} />
        </>
      ) : null}
      {waitpoint.kind === 'input' && !decidedElsewhere ? <CompletionForm waitpoint={waitpoint} onCompleted={onCompleted} onConflict={onConflict} /> : null}
    </li>
  );
}

function ResolvedWaitpoints({ waitpoints }: { waitpoints: Waitpoint[] }) {
  return (
    <div class="waitpoint-history">
      <h3 class="small">Resolved</h3>
      <ul class="waitpoint-list" data-testid="waitpoint-history">
        {waitpoints.map((waitpoint) => (
          <li key={waitpoint.id} class="waitpoint" data-waitpoint-id={waitpoint.id} data-status={waitpoint.status}>
            <p class="waitpoint-title">
              <Tag tone={outcomeTones[waitpoint.status]}>{waitpoint.status.replace('_', ' ')}</Tag>
              <span>{kindLabels[waitpoint.kind]}</span>
              <code>{waitpoint.key}</code>
            </p>
            <p class="muted small">
              {waitpoint.completed_by ? `by ${waitpoint.completed_by} · ` : ''}
              {waitpoint.completed_at ? formatTime(waitpoint.completed_at) : waitpoint.timeout_at ? formatTime(waitpoint.timeout_at) : ''}
            </p>
            {waitpoint.kind === 'input' && waitpoint.payload !== null && waitpoint.payload !== undefined ? <JsonView value={waitpoint.payload} label={`the payload of ${waitpoint.key}`} /> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Pending waitpoints first (newest first, as the API lists them), then the resolved ones.
 * Renders nothing for a task that never waited. `decidedElsewhere` gives a wait's own view, in
 * place of the completion form, where a pipeline decides it somewhere else.
 */
export function WaitingPanel({ waitpoints, children, now, decidedElsewhere, onChanged }: { waitpoints: Waitpoint[]; children: Task[] | undefined; now: number; decidedElsewhere: (waitpoint: Waitpoint) => JSX.Element | null; onChanged: () => void }) {
  const [notice, setNotice] = useState<{ text: string; conflict: boolean } | null>(null);
  if (waitpoints.length === 0) return null;
  const pending = waitpoints.filter((waitpoint) => waitpoint.status === 'pending');
  const resolved = waitpoints.filter((waitpoint) => waitpoint.status !== 'pending');
  return (
    <section class={`panel${pending.length > 0 ? ' panel-waiting' : ''}`} aria-labelledby="waiting-title" data-testid="waiting-panel">
      <h2 id="waiting-title">{pending.length > 0 ? 'Waiting for' : 'Waits'}</h2>
      {notice ? <p class={`notice${notice.conflict ? ' notice-error' : ''}`} role={notice.conflict ? 'alert' : 'status'} data-testid="waitpoint-notice">{notice.text}</p> : null}
      {pending.length > 0 ? (
        <ul class="waitpoint-list">
          {pending.map((waitpoint) => (
            <PendingWaitpoint
              key={waitpoint.id}
              waitpoint={waitpoint}
              children={children}
              now={now}
              decidedElsewhere={decidedElsewhere(waitpoint)}
              onCompleted={() => {
                setNotice({ text: `${waitpoint.key} completed; the task resumes.`, conflict: false });
                onChanged();
              }}
              onConflict={(text) => {
                setNotice({ text, conflict: true });
                onChanged();
              }}
            />
          ))}
        </ul>
      ) : null}
      {resolved.length > 0 ? <ResolvedWaitpoints waitpoints={resolved} /> : null}
    </section>
  );
}
