/**
 * The composition root of pipelines: every process (API, worker, CLI) registers exactly this
 * list, so they agree on the task types, migrations, routes and commands there are. Adding a
 * pipeline is one line here; everything else lives in its folder (see src/kit/pipeline.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { coreMigrations, type MigrationSource } from '../db/migrate.ts';
import type { AnyTaskDefinition, Pipeline, PipelineRouteServices, PipelineServices } from '../kit/index.ts';
import { automatedGather } from './automated-gather/index.ts';
import { builtin } from './builtin/index.ts';
import { content } from './content/index.ts';
import { learning } from './learning/index.ts';
import { smartMetadata } from './smart-metadata/index.ts';

export type { PipelineServices } from '../kit/index.ts';

export const pipelines: readonly Pipeline[] = [builtin, automatedGather, smartMetadata, learning, content];

/** The core's migrations, then each pipeline's, in registration order. */
export const migrationSources: readonly MigrationSource[] = [
  coreMigrations,
  ...pipelines.flatMap((pipeline) => (pipeline.migrationSource ? [pipeline.migrationSource] : [])),
];

export function builtinTaskTypes(services: PipelineServices): AnyTaskDefinition[] {
  return pipelines.flatMap((pipeline) => pipeline.tasks?.(services) ?? []);
}

/** HTTP routes pipelines add to the API (each is registered inside the authenticated scope). */
export function builtinRoutes(services: PipelineRouteServices): FastifyPluginAsync[] {
  return pipelines.flatMap((pipeline) => (pipeline.routes ? [pipeline.routes(services)] : []));
}
