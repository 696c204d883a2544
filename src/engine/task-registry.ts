/**
 * The task types a process knows. Submitting and running both look types up here, so a type
 * that is not registered can neither be queued nor run by mistake.
 */
import { UnknownTaskTypeError } from '../errors.ts';
import { queuePolicy } from './queues.ts';
import type { AnyTaskDefinition } from './task-definition.ts';

export class TaskRegistry {
  readonly #definitions = new Map<string, AnyTaskDefinition>();

  register(...definitions: AnyTaskDefinition[]): this {
    for (const definition of definitions) {
      if (this.#definitions.has(definition.type)) throw new Error(`task type "${definition.type}" is registered twice`);
      // A queue nobody declared would never be created or worked: refuse it at registration.
      queuePolicy(definition.queue);
      this.#definitions.set(definition.type, definition);
    }
    return this;
  }

  get(type: string): AnyTaskDefinition {
    const definition = this.#definitions.get(type);
    if (!definition) throw new UnknownTaskTypeError(type, this.types());
    return definition;
  }

  has(type: string): boolean {
    return this.#definitions.has(type);
  }

  types(): string[] {
    return [...this.#definitions.keys()].sort();
  }

  list(): AnyTaskDefinition[] {
    return this.types().map((type) => this.#definitions.get(type)!);
  }
}
