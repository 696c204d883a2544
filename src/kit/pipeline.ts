/**
 * `definePipeline`: a pipeline is one folder declaring, in one place, everything it adds to
 * taskloom: its task types, its own numbered migrations, its HTTP routes, its event names and
 * payloads, and its CLI command. The composition root (`src/pipelines/index.ts`) lists the
 * pipelines; every process derives its task types, migrations, routes and commands from that list.
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
import { defineQueue, type AnyTaskDefinition, type Engine, type QueuePolicy } from '../engine/index.ts';
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
  /** The pipeline's task types. @default none */
  tasks?: (services: PipelineServices) => AnyTaskDefinition[];
  /**
   * HTTP routes, registered inside the API's authenticated scope: `request.tenant` is set and the
   * key's rate limit applies. Use the kit's `tenantOf` and `parseOrThrow`.
   * @default none
   */
  routes?: (services: PipelineRouteServices) => FastifyPluginAsync;
  /** The events the pipeline emits, by name, with their payload schemas (documentation and tests). @default none */
  events?: Record<string, z.ZodType>;
  /** A `taskloom <command>` of the pipeline's own. Open the engine or database lazily, in the action. @default none */
  cli?: (runtime: Runtime) => Command;
}

export interface Pipeline extends PipelineDefinition {
  readonly migrationSource: MigrationSource | undefined;
  /** The events as JSON Schema, by name. */
  eventSchemas(): Record<string, unknown>;
}

const pipelineName = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function definePipeline(definition: PipelineDefinition): Pipeline {
  if (!pipelineName.test(definition.name)) {
    throw new ValidationError(`Pipeline name "${definition.name}" must be kebab-case (its folder's name), e.g. "smart-metadata".`);
  }
  if (definition.name === 'core') throw new ValidationError('Pipeline name "core" is reserved for the engine\'s own migrations.');
  for (const queue of definition.queues ?? []) defineQueue(queue);
  const folder = definition.migrations === undefined
    ? undefined
    : definition.migrations instanceof URL ? fileURLToPath(definition.migrations) : path.resolve(definition.migrations);
  return {
    ...definition,
    migrationSource: folder === undefined ? undefined : { namespace: definition.name, folder },
    eventSchemas: () => Object.fromEntries(Object.entries(definition.events ?? {}).map(([name, schema]) => [name, jsonSchema(schema, 'output')])),
  };
}
