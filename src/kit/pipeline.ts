/**
 * `definePipeline`: a pipeline is one folder declaring, in one place, everything it adds to
 * taskloom: its task types, its own numbered migrations, its HTTP routes, its event names and
 * payloads, and its CLI command. The composition root (`src/pipelines/index.ts`) lists the
 * pipelines; every process derives its task types, migrations, routes and commands from that list.
 *
 * A definition is light: it names its task types (type, queue, description) and may import its
 * parts (task definitions, routes, events, command) only when they are used, so a process that
 * only lists task types (`taskloom types`) or reads tasks loads none of the pipelines' modules.
 * This module is the kit's light half for that reason: it imports no engine, API or database code.
 *
 * The dashboard page of a pipeline lives in the same folder (`dashboard/page.tsx`) and is found by
 * the dashboard's build, so registering a pipeline stays one line.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { jsonSchema } from '../json-schema.ts';
import type { Config } from '../config.ts';
import type { MigrationSource } from '../db/migrate.ts';
import type { Pool } from '../db/pool.ts';
import type { AnyTaskDefinition, Engine, TaskTypeSummary } from '../engine/index.ts';
// The queues' module, not the engine's index: that loads the engine and the worker.
import { defineQueue, type QueuePolicy } from '../engine/queues.ts';
import { ValidationError } from '../errors.ts';
import type { LlmGateway } from '../llm/index.ts';
import type { Logger } from '../logger.ts';
import type { Runtime } from '../cli/runtime.ts';

/** What a pipeline's task types are built from: they reach the database and models only through these. */
export interface PipelineServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
}

/** Routes also get the engine, to submit, read and cancel tasks and to complete waitpoints. */
export interface PipelineRouteServices extends PipelineServices {
  engine: Engine;
}

export interface PipelineDefinition {
  /** kebab-case, the folder's name; also the namespace of the pipeline's migrations. */
  name: string;
  /** Human title (docs, dashboard). */
  title: string;
  description?: string;
  /**
   * Folder of the pipeline's own forward-only migrations (`NNNN_name.sql`), applied after the
   * core's and tracked under the pipeline's name. Pass `new URL('./migrations/', import.meta.url)`.
   * @default none
   */
  migrations?: URL | string;
  /**
   * Queues of the pipeline's own (name, priority, hard timeout, retries), registered when the
   * pipeline is defined; its task types may then use them. @default none
   */
  queues?: QueuePolicy[];
  /**
   * Every task type `tasks` builds, as `taskloom types` lists them without building anything. The
   * definitions spread these (`defineTask({ ...summary, input, run })`); building refuses a
   * definition that is not declared here as it is. @default none
   */
  taskTypes?: readonly TaskTypeSummary[];
  /** The pipeline's task types; may import the modules defining them (return a promise). @default none */
  tasks?: (services: PipelineServices) => AnyTaskDefinition[] | Promise<AnyTaskDefinition[]>;
  /**
   * HTTP routes, registered inside the API's authenticated scope: `request.tenant` is set and the
   * key's rate limit applies. Use the kit's `tenantOf` and `parseOrThrow`. May import the routes'
   * module (return a promise of the plugin).
   * @default none
   */
  routes?: (services: PipelineRouteServices) => FastifyPluginAsync | Promise<FastifyPluginAsync>;
  /**
   * The events the pipeline emits, by name, with their payload schemas (documentation and tests),
   * or a function importing them. @default none
   */
  events?: Record<string, z.ZodType> | (() => Promise<Record<string, z.ZodType>>);
  /**
   * A `taskloom <command>` of the pipeline's own; may import the command's module (return a
   * promise). Open the engine or database lazily, in the action. @default none
   */
  cli?: (runtime: Runtime) => Command | Promise<Command>;
}

export interface Pipeline {
  readonly name: string;
  readonly title: string;
  readonly description: string | undefined;
  readonly migrationSource: MigrationSource | undefined;
  /** The task types as declared (empty when the pipeline has none). */
  readonly taskTypes: readonly TaskTypeSummary[];
  /** Builds the task types, checked against `taskTypes`. */
  tasks(services: PipelineServices): Promise<AnyTaskDefinition[]>;
  /** The routes' plugin; its module is imported when the API registers it. Undefined without routes. */
  readonly routes: ((services: PipelineRouteServices) => FastifyPluginAsync) | undefined;
  /** The pipeline's command; undefined without one. */
  readonly cli: ((runtime: Runtime) => Promise<Command>) | undefined;
  /** The events as JSON Schema, by name. */
  eventSchemas(): Promise<Record<string, unknown>>;
}

const pipelineName = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Refuses definitions that `taskloom types` would list differently, or not at all. */
function checkDeclared(pipeline: string, declared: readonly TaskTypeSummary[], built: readonly AnyTaskDefinition[]): void {
  const problems: string[] = [];
  const byType = new Map(declared.map((summary) => [summary.type, summary]));
  for (const definition of built) {
    const summary = byType.get(definition.type);
    if (!summary) problems.push(`"${definition.type}" is built but not declared`);
    else if (summary.queue !== definition.queue || summary.description !== definition.description || (summary.aliases ?? []).join() !== (definition.aliases ?? []).join()) problems.push(`"${definition.type}" is built with another queue, description or aliases than it is declared with`);
  }
  const builtTypes = new Set(built.map((definition) => definition.type));
  for (const summary of declared) if (!builtTypes.has(summary.type)) problems.push(`"${summary.type}" is declared but not built`);
  if (problems.length > 0) throw new ValidationError(`Pipeline "${pipeline}": its taskTypes and the task types it builds differ: ${problems.join('; ')}. Spread each declared summary into its defineTask.`, { pipeline });
}

export function definePipeline(definition: PipelineDefinition): Pipeline {
  if (!pipelineName.test(definition.name)) {
    throw new ValidationError(`Pipeline name "${definition.name}" must be kebab-case (its folder's name), e.g. "smart-metadata".`);
  }
  if (definition.name === 'core') throw new ValidationError('Pipeline name "core" is reserved for the engine\'s own migrations.');
  for (const queue of definition.queues ?? []) defineQueue(queue);
  const folder = definition.migrations === undefined
    ? undefined
    : definition.migrations instanceof URL ? fileURLToPath(definition.migrations) : path.resolve(definition.migrations);
  const { routes, cli, events } = definition;
  const taskTypes = definition.taskTypes ?? [];
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    migrationSource: folder === undefined ? undefined : { namespace: definition.name, folder },
    taskTypes,
    async tasks(services) {
      const built = (await definition.tasks?.(services)) ?? [];
      checkDeclared(definition.name, taskTypes, built);
      return built;
    },
    // The plugin the API registers imports the routes' module as it is registered.
    routes: routes && ((services) => async (app, options) => {
      const plugin = await routes(services);
      await plugin(app, options);
    }),
    cli: cli && (async (runtime) => cli(runtime)),
    async eventSchemas() {
      const schemas = typeof events === 'function' ? await events() : events ?? {};
      return Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, jsonSchema(schema, 'output')]));
    },
  };
}
