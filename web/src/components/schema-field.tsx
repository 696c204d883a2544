/**
 * One input of a form generated from a JSON Schema (lib/schema-form.ts): label, native control
 * for its kind, help (description, bounds, default) and the API's message for it, linked with
 * aria-describedby and aria-invalid. Used by the start form and the waitpoint completion form.
 */
import { InlineText } from './inline-text.tsx';
import type { FormField } from '../lib/schema-form.ts';

export function FieldInput({ field, id, value, error, onChange }: { field: FormField; id: string; value: string; error?: string; onChange: (value: string) => void }) {
  const describedBy = [error ? `${id}-error` : null, field.description || field.constraint ? `${id}-help` : null].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: field.name,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
    'aria-required': field.required ? true : undefined,
  } as const;
  const read = (event: Event): string => (event.currentTarget as HTMLInputElement).value;
  let input;
  switch (field.kind) {
    case 'boolean':
      input = <input {...common} type="checkbox" checked={value === 'true'} onChange={(event) => onChange((event.currentTarget as HTMLInputElement).checked ? 'true' : 'false')} />;
      break;
    case 'enum':
      input = (
        <select {...common} value={value} onChange={(event) => onChange(read(event))}>
          {/* A required choice with no default starts on a prompt, not on a blank the browser shows as its first option. */}
          {field.required ? (value === '' ? <option value="" disabled>choose…</option> : null) : <option value="">(default)</option>}
          {field.options?.map((option) => <option key={option} value={option}>{option}</option>)}
        </select>
      );
      break;
    case 'integer':
    case 'number':
      // Text, not type="number": a number input reports "" for what it cannot read ("5e"), and the
      // field was then left out, the task starting on its default with no word of it. As text, it
      // is sent as typed and the API names the problem next to the field.
      input = <input {...common} type="text" inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'} autoComplete="off" value={value} onInput={(event) => onChange(read(event))} />;
      break;
    case 'string-list':
    case 'json':
      input = <textarea {...common} rows={field.kind === 'json' ? 5 : 3} spellcheck={false} value={value} onInput={(event) => onChange(read(event))} />;
      break;
    default:
      input = field.kind === 'url'
        ? <input {...common} type="url" value={value} onInput={(event) => onChange(read(event))} />
        : <input {...common} type="text" value={value} onInput={(event) => onChange(read(event))} />;
  }
  return (
    <div class={`field${field.kind === 'boolean' ? ' field-checkbox' : ''}${error ? ' field-invalid' : ''}`} data-field={field.name}>
      <label for={id}>
        {field.label}
        {field.required ? <span class="required"> (required)</span> : null}
        {field.label.toLowerCase().replace(/ /g, '_') !== field.name ? <code class="field-name">{field.name}</code> : null}
      </label>
      {input}
      {field.description || field.constraint ? (
        <p id={`${id}-help`} class="help">
          {field.description ? <InlineText text={field.description} /> : null}
          {field.constraint ? <span class="constraint">{field.description ? ' · ' : ''}{field.constraint}</span> : null}
          {field.defaultValue !== undefined ? <span class="constraint"> · default {JSON.stringify(field.defaultValue)}</span> : null}
        </p>
      ) : null}
      {error ? <p id={`${id}-error`} class="field-error" role="alert"><span aria-hidden="true">⚠ </span>{error}</p> : null}
    </div>
  );
}
