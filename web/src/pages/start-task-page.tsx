/**
 * Start any task type: a form generated from its input JSON Schema, submitted to
 * POST /api/v1/tasks/submit. The API validates; its issues are shown next to the fields they
 * name (and linked with aria-describedby / aria-invalid).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, request } from '../api/client.ts';
import type { SubmitResponse, TaskType } from '../api/types.ts';
import { InlineText } from '../components/inline-text.tsx';
import { FieldInput } from '../components/schema-field.tsx';
import { Link } from '../components/link.tsx';
import { formatDuration } from '../lib/format.ts';
import { revealAfterRender } from '../lib/reveal.ts';
import { fieldsOf, initialText, isVariants, issuesOnWholeValue, placeIssues, toTaskData, wholeValueField, type FormField } from '../lib/schema-form.ts';
import { navigate, useLocation } from '../lib/router.ts';
import { useTaskTypes } from './task-list-page.tsx';
import { ErrorNotice } from './shared.tsx';

/** Submit-body fields offered under "Options" (keys prefixed with $ in the error map). */
const optionFields = ['project_id', 'priority', 'idempotency_key', 'callback_url'] as const;

const optionDefinitions: FormField[] = [
  { name: 'project_id', kind: 'string', label: 'Project', required: false, description: 'The project the task belongs to (for filters and the project stream).' },
  { name: 'priority', kind: 'integer', label: 'Priority', required: false, constraint: 'whole number, -100 to 100; higher runs first' },
  { name: 'idempotency_key', kind: 'string', label: 'Idempotency key', required: false, description: 'A repeat submit with the same key returns the first task.' },
  { name: 'callback_url', kind: 'url', label: 'Callback URL', required: false, description: 'Every event of the task is POSTed here, signed.' },
];

const wholeInput = wholeValueField('task_data', 'Input (JSON)', 'This type takes one of several shapes (its schema lists them): write its input as one JSON object.');

function placeWholeInputIssues(issues: ReadonlyArray<{ path: string; message: string }>): ReturnType<typeof placeIssues> {
  const ofOptions = issues.filter((issue) => (optionFields as readonly string[]).includes(issue.path.split('.')[0]!));
  const options = placeIssues(ofOptions, [], [...optionFields]);
  const input = issuesOnWholeValue(wholeInput.name, issues.filter((issue) => !ofOptions.includes(issue)));
  return { byField: { ...input.byField, ...options.byField }, unplaced: options.unplaced };
}

function TaskForm({ type }: { type: TaskType }) {
  // An input of variants (anyOf) has no fields of its own: it is written whole, as JSON.
  const whole = isVariants(type.input_schema);
  const fields = useMemo(() => (whole ? [wholeInput] : fieldsOf(type.input_schema)), [type, whole]);
  const hasProjectField = fields.some((field) => field.name === 'project_id');
  const options = optionDefinitions.filter((option) => !(hasProjectField && option.name === 'project_id'));
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((field) => [field.name, initialText(field)])));
  const [optionTexts, setOptionTexts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setFormError(null);
    const conversion = toTaskData(fields, texts);
    if (Object.keys(conversion.errors).length > 0) {
      setErrors(conversion.errors);
      return;
    }
    const taskData = (whole ? conversion.data[wholeInput.name] : conversion.data) as Record<string, unknown>;
    const body: Record<string, unknown> = { task_type: type.type, task_data: taskData };
    Object.assign(body, toTaskData(optionDefinitions, optionTexts).data);
    // A task_data.project_id is also the task's project (filters, project stream).
    if (typeof taskData?.project_id === 'string') body.project_id = taskData.project_id;
    setBusy(true);
    try {
      const answer = await request<SubmitResponse>('/api/v1/tasks/submit', { method: 'POST', body });
      navigate(`/tasks/${answer.task_id}`);
    } catch (failure) {
      const apiError = failure instanceof ApiError ? failure : new ApiError(0, 'client_error', (failure as Error).message);
      // A whole input owns the issues of its input; the options keep theirs.
      const { byField, unplaced } = whole ? placeWholeInputIssues(apiError.issues) : placeIssues(apiError.issues, fields.map((field) => field.name), [...optionFields]);
      setErrors(byField);
      setFormError(Object.keys(byField).length > 0 && unplaced.length === 0 ? new ApiError(apiError.status, apiError.code, 'Some fields need fixing; see the messages next to them.') : apiError);
      const first = Object.keys(byField)[0];
      if (first) document.getElementById(first.startsWith('$') ? `option-${first.slice(1)}` : `field-${first}`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel task-form" onSubmit={submit} noValidate aria-labelledby="form-title" data-testid="task-form">
      <h2 id="form-title">{type.type}</h2>
      {type.description ? <p><InlineText text={type.description} /></p> : null}
      <p class="muted small">
        queue <code>{type.queue}</code> · priority {type.priority} · up to {type.max_attempts} attempt{type.max_attempts === 1 ? '' : 's'}
        {type.soft_timeout_ms ? ` · soft timeout ${formatDuration(type.soft_timeout_ms)}` : ''}
        {type.hard_timeout_ms ? ` · hard timeout ${formatDuration(type.hard_timeout_ms)}` : ''}
      </p>
      {formError ? <ErrorNotice error={formError} action="Not started" /> : null}
      <fieldset>
        <legend>Input (<code>task_data</code>)</legend>
        {fields.length === 0 ? <p class="muted">This task type takes no input.</p> : null}
        {whole ? <details class="options" data-testid="input-schema"><summary>The shapes it takes (JSON Schema)</summary><pre class="raw-json" tabIndex={0}>{JSON.stringify(type.input_schema, null, 2)}</pre></details> : null}
        {fields.map((field) => (
          <FieldInput
            key={field.name}
            field={field}
            id={`field-${field.name}`}
            value={texts[field.name] ?? ''}
            error={errors[field.name]}
            onChange={(value) => setTexts({ ...texts, [field.name]: value })}
          />
        ))}
      </fieldset>
      <details class="options" open={options.some((option) => errors[`$${option.name}`] !== undefined) || undefined}>
        <summary>Options: {options.map((option) => option.label.toLowerCase()).join(', ')}</summary>
        {options.map((option) => (
          <FieldInput
            key={option.name}
            field={option}
            id={`option-${option.name}`}
            value={optionTexts[option.name] ?? ''}
            error={errors[`$${option.name}`]}
            onChange={(value) => setOptionTexts({ ...optionTexts, [option.name]: value })}
          />
        ))}
      </details>
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Starting…' : `Start ${type.type}`}</button>
      </div>
    </form>
  );
}

export function StartTaskPage() {
  const location = useLocation();
  const types = useTaskTypes();
  const selected = location.search.get('type') ?? '';
  const type = types.data?.find((entry) => entry.type === selected);
  const formSlot = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!selected && types.data && types.data.length > 0) navigate(`/start?type=${encodeURIComponent(types.data[0]!.type)}`, { replace: true });
  }, [selected, types.data]);

  return (
    <div class="page">
      <div class="page-header"><h1>Start a task</h1></div>
      <ErrorNotice error={types.error} />
      <div class="start-layout">
        {/* A pick (a click on any of the links) shows its form, on a phone below the list. */}
        <nav class="panel type-picker" aria-label="Task types" onClick={(event) => { if ((event.target as Element).closest('a')) revealAfterRender(formSlot); }}>
          <h2>Task types</h2>
          <ul>
            {(types.data ?? []).map((entry) => (
              <li key={entry.type}>
                <Link href={`/start?type=${encodeURIComponent(entry.type)}`} aria-current={entry.type === selected ? 'page' : undefined}>
                  <strong>{entry.type}</strong>
                  <span class="muted small"> {entry.queue}</span>
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div ref={formSlot}>
          {type ? <TaskForm key={type.type} type={type} /> : types.data && selected ? <p class="panel">Unknown task type <code>{selected}</code>.</p> : null}
        </div>
      </div>
    </div>
  );
}
