/**
 * Form fields from a JSON Schema (zod 4's output: a task type's input, a waitpoint's payload),
 * and back: field texts to the object (`task_data`, `payload`). Scalars get native inputs; anything richer (objects, arrays of
 * objects, unions) gets a JSON text area. Validation stays with the API, whose issues are
 * shown next to the fields they name.
 */
import type { JsonSchema } from '../api/types.ts';

export type FieldKind = 'string' | 'url' | 'integer' | 'number' | 'boolean' | 'enum' | 'string-list' | 'json';

export interface FormField {
  name: string;
  kind: FieldKind;
  label: string;
  description?: string;
  required: boolean;
  defaultValue?: unknown;
  options?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** The rule in words ("0 to 3600000"), shown under the field. */
  constraint?: string;
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== 'null');
  return schema.type;
}

/** `anyOf: [X, {type: null}]` (a nullable X) is X. */
function unwrapNullable(schema: JsonSchema): JsonSchema {
  const variants = schema.anyOf ?? schema.oneOf;
  if (!variants) return schema;
  const concrete = variants.filter((variant) => variant.type !== 'null');
  if (concrete.length === 1) return { ...concrete[0], description: schema.description ?? concrete[0]!.description, default: schema.default ?? concrete[0]!.default };
  return schema;
}

function label(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function kindOf(schema: JsonSchema): FieldKind {
  if (schema.enum && schema.enum.every((value) => typeof value === 'string')) return 'enum';
  const type = typeOf(schema);
  if (type === 'string') return schema.format === 'uri' || schema.format === 'url' ? 'url' : 'string';
  if (type === 'integer') return 'integer';
  if (type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  if (type === 'array' && schema.items && typeOf(schema.items) === 'string' && !schema.items.enum) return 'string-list';
  return 'json';
}

function constraint(schema: JsonSchema, kind: FieldKind): string | undefined {
  if (kind === 'integer' || kind === 'number') {
    const low = schema.minimum ?? schema.exclusiveMinimum;
    const high = schema.maximum ?? schema.exclusiveMaximum;
    const unit = kind === 'integer' ? 'whole number' : 'number';
    if (low !== undefined && high !== undefined) return `${unit}, ${low} to ${high}`;
    if (low !== undefined) return `${unit}, at least ${low}`;
    if (high !== undefined) return `${unit}, at most ${high}`;
    return unit;
  }
  if (kind === 'string' || kind === 'url') {
    if (schema.maxLength !== undefined) return `${kind === 'url' ? 'URL, ' : ''}up to ${schema.maxLength} characters`;
    return kind === 'url' ? 'URL' : undefined;
  }
  if (kind === 'string-list') return 'one per line';
  if (kind === 'json') return 'JSON';
  return undefined;
}

export function fieldsOf(schema: JsonSchema): FormField[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const property = unwrapNullable(raw);
    const kind = kindOf(property);
    const field: FormField = {
      name,
      kind,
      label: property.title ?? label(name),
      required: required.has(name),
    };
    if (property.description) field.description = property.description;
    if (property.default !== undefined) field.defaultValue = property.default;
    if (kind === 'enum') field.options = (property.enum ?? []).map(String);
    if (property.minimum !== undefined) field.minimum = property.minimum;
    if (property.maximum !== undefined) field.maximum = property.maximum;
    if (property.minLength !== undefined) field.minLength = property.minLength;
    if (property.maxLength !== undefined) field.maxLength = property.maxLength;
    const rule = constraint(property, kind);
    if (rule) field.constraint = rule;
    return field;
  });
}

/** The text an input starts with. */
export function initialText(field: FormField): string {
  const value = field.defaultValue;
  if (value === undefined || value === null) return field.kind === 'boolean' ? 'false' : '';
  if (field.kind === 'string-list' && Array.isArray(value)) return value.join('\n');
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

export interface Conversion {
  data: Record<string, unknown>;
  /** Problems found before sending (text that is not JSON), by field name. */
  errors: Record<string, string>;
}

/**
 * Field texts to task_data. Empty optional fields are left out (the type's defaults apply);
 * numbers that do not parse are sent as typed, so the API names the problem.
 */
export function toTaskData(fields: FormField[], texts: Record<string, string>): Conversion {
  const data: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = texts[field.name] ?? '';
    if (field.kind === 'boolean') {
      data[field.name] = text === 'true';
      continue;
    }
    if (text.trim() === '') continue;
    switch (field.kind) {
      case 'integer':
      case 'number': {
        const number = Number(text.trim());
        data[field.name] = Number.isFinite(number) ? number : text;
        break;
      }
      case 'string-list':
        data[field.name] = text.split('\n').map((line) => line.trim()).filter(Boolean);
        break;
      case 'json':
        try {
          data[field.name] = JSON.parse(text);
        } catch (error) {
          errors[field.name] = `Not valid JSON: ${(error as Error).message}`;
        }
        break;
      default:
        data[field.name] = text;
    }
  }
  return { data, errors };
}

/**
 * The form field an API issue path names: `task_data.ms` and `ms` are the field `ms`, deeper
 * paths (`task_data.options.0.name`) belong to their top field; `payload.approved` and
 * `approved` (a waitpoint completion) the field `approved`. Others belong to the form.
 */
export function fieldOfIssue(path: string, fieldNames: string[], topLevel: string[]): string | null {
  const parts = path.split('.').filter(Boolean);
  if (parts[0] === 'body') parts.shift();
  if (parts[0] === 'task_data' || parts[0] === 'payload') {
    parts.shift();
    const name = parts[0];
    return name !== undefined && fieldNames.includes(name) ? name : null;
  }
  const name = parts[0];
  if (name !== undefined && topLevel.includes(name)) return `$${name}`;
  if (name !== undefined && fieldNames.includes(name)) return name;
  return null;
}

export interface PlacedIssues {
  /** Messages by field name (`$name` for a `topLevel` one), joined with "; ". */
  byField: Record<string, string>;
  /** Issues no field owns, as "path: message". */
  unplaced: string[];
}

/**
 * A form for a value its fields cannot hold: one JSON field for all of it. A waitpoint's payload
 * without properties (`z.boolean()`, no schema at all), a task input of variants (`anyOf`: the
 * Start form said "takes no input" for `generate_topics` and could not start it).
 */
export function wholeValueField(name: string, label: string, description?: string): FormField {
  return { name, kind: 'json', label, required: true, constraint: 'JSON', ...(description ? { description } : {}) };
}

/** A schema of variants (`anyOf`, `oneOf`) with no properties of its own: filled in whole. */
export function isVariants(schema: JsonSchema | null): boolean {
  return !!schema && Object.keys(schema.properties ?? {}).length === 0 && ((schema.anyOf?.length ?? 0) > 0 || (schema.oneOf?.length ?? 0) > 0);
}

/** An API error's issues on a whole-value form: all on its one field, each with its path. */
export function issuesOnWholeValue(name: string, issues: ReadonlyArray<{ path: string; message: string }>): PlacedIssues {
  return { byField: issues.length > 0 ? { [name]: issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ') } : {}, unplaced: [] };
}

/** Sorts an API error's issues onto the fields they name (see fieldOfIssue). */
export function placeIssues(issues: ReadonlyArray<{ path: string; message: string }>, fieldNames: string[], topLevel: string[] = []): PlacedIssues {
  const byField: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const issue of issues) {
    const name = fieldOfIssue(issue.path, fieldNames, topLevel);
    if (name === null) unplaced.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
    else byField[name] = byField[name] ? `${byField[name]}; ${issue.message}` : issue.message;
  }
  return { byField, unplaced };
}
