/**
 * A submit's project and its input's `project_id`, one rule for every way a task is submitted
 * (the API's `project_id` beside `task_data`, the CLI's `--project` beside `--data`): the project
 * is copied into the input when the task type's input has that field and the input names none,
 * and an input naming another project is refused. Otherwise the task's record and events would be
 * filed under one project while its work was done for another.
 */
import { ValidationError } from '../errors.ts';
import { jsonSchema } from '../json-schema.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

/** Whether a task type's input has a `project_id` field; asked once per type. */
const acceptsProjectId = new WeakMap<AnyTaskDefinition, boolean>();

/**
 * `input` as submitted with `projectId`. `names`: how the caller's request calls the two (for the
 * refusal), and the prefix and location of its messages.
 */
export function inputWithProjectId(definition: AnyTaskDefinition, input: Record<string, unknown>, projectId: string | undefined, names: { input: string; project: string; prefix: string; location?: string }): Record<string, unknown> {
  if (projectId === undefined) return input;
  const given = input.project_id;
  if (given !== undefined && given !== null && String(given) !== projectId) {
    const message = `${names.input} (${JSON.stringify(given)}) differs from ${names.project} (${JSON.stringify(projectId)})`;
    throw new ValidationError(`${names.prefix}${message}`, { ...(names.location ? { location: names.location } : {}), issues: [{ path: names.input, message }] });
  }
  if (given !== undefined) return input;
  let accepts = acceptsProjectId.get(definition);
  if (accepts === undefined) {
    const properties = jsonSchema(definition.input).properties as Record<string, unknown> | undefined;
    accepts = properties !== undefined && 'project_id' in properties;
    acceptsProjectId.set(definition, accepts);
  }
  return accepts ? { ...input, project_id: projectId } : input;
}
