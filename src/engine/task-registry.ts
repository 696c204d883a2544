/**
 * The task types a process knows. Submitting and running both look types up here, so a type
 * that is not registered can neither be queued nor run by mistake.
 */
import { UnknownTaskTypeError } from '../errors.ts';
import { maxTimerMs, queuePolicy } from './queues.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

export class TaskRegistry {
  readonly #definitions = new Map<string, AnyTaskDefinition>();
  /** Each alias's type (TaskDefinition.aliases). */
  readonly #aliases = new Map<string, string>();

  register(...definitions: AnyTaskDefinition[]): this {
    for (const definition of definitions) {
      const names = [definition.type, ...(definition.aliases ?? [])];
      for (const [index, name] of names.entries()) {
        if (this.has(name) || names.indexOf(name) !== index) throw new Error(`task type "${name}" is registered twice`);
      }
      // A queue nobody declared would never be created or worked: refuse it at registration.
      queuePolicy(definition.queue);
      refuseUnworkablePolicy(definition);
      // Schedules are stored by `type.key`: a second one under the same key replaces the first.
      const scheduleKeys = (definition.schedules ?? []).map((schedule) => schedule.key ?? 'default');
      const repeated = scheduleKeys.find((key, index) => scheduleKeys.indexOf(key) !== index);
      if (repeated !== undefined) throw new Error(`task type "${definition.type}" declares two schedules with the key "${repeated}", and only the last would run: give each schedule its own \`key\``);
      this.#definitions.set(definition.type, definition);
      for (const alias of definition.aliases ?? []) this.#aliases.set(alias, definition.type);
    }
    return this;
  }

  /** The definition of `type`, or of the type it is an alias of. */
  get(type: string): AnyTaskDefinition {
    const definition = this.#definitions.get(this.#aliases.get(type) ?? type);
    if (!definition) throw new UnknownTaskTypeError(type, this.types());
    return definition;
  }

  /** The type `name` is an alias of, else `name` itself (registered or not). */
  typeNamed(name: string): string {
    return this.#aliases.get(name) ?? name;
  }

  has(type: string): boolean {
    return this.#definitions.has(type) || this.#aliases.has(type);
  }

  types(): string[] {
    return [...this.#definitions.keys()].sort();
  }

  list(): AnyTaskDefinition[] {
    return this.types().map((type) => this.#definitions.get(type)!);
  }
}

/**
 * Settings a task type could not run with, refused when it is registered: `maxAttempts: 0` let
 * no attempt run (the task failed as abandoned with no worker gone), and a timeout past Node's
 * longest timer fired after 1 ms.
 */
function refuseUnworkablePolicy(definition: AnyTaskDefinition): void {
  const problems: string[] = [];
  if (definition.maxAttempts !== undefined && (!Number.isInteger(definition.maxAttempts) || definition.maxAttempts < 1)) problems.push(`maxAttempts ${definition.maxAttempts}: at least 1 (the first attempt counts)`);
  for (const field of ['softTimeoutMs', 'hardTimeoutMs'] as const) {
    const value = definition[field];
    if (value !== undefined && (!Number.isFinite(value) || value <= 0 || value > maxTimerMs)) problems.push(`${field} ${value}: from 1 to ${maxTimerMs} ms (24.8 days, the longest timer Node keeps; leave it out for the queue's)`);
  }
  if (definition.retryBaseDelayMs !== undefined && (!Number.isFinite(definition.retryBaseDelayMs) || definition.retryBaseDelayMs < 0)) problems.push(`retryBaseDelayMs ${definition.retryBaseDelayMs}: 0 or more`);
  if (problems.length > 0) throw new Error(`task type "${definition.type}" cannot run as defined: ${problems.join('; ')}`);
}
