/**
 * The composition root of pipelines: every process (API, worker, CLI) registers exactly this
 * list, so they agree on the task types, migrations, routes and commands there are. Adding a
 * pipeline is one line here; everything else lives in its folder (see src/kit/pipeline.ts).
 *
 * Each pipeline is imported from its `pipeline.ts`, its light definition, not from its index:
 * listing task types and applying migrations load none of the pipelines' task, route or command
 * modules; building the task types imports them.
 */
import type { FastifyPluginAsync } from 'fastify';
import { coreMigrations, type MigrationSource } from '../db/migrate.ts';
import type { AnyTaskDefinition, Pipeline, PipelineRouteServices, PipelineServices, TaskTypeSummary } from '../kit/index.ts';
import { automatedGather } from './automated-gather/pipeline.ts';
import { builtin } from './builtin/pipeline.ts';
import { content } from './content/pipeline.ts';
import { eventTypeRoutes } from './event-types-route.ts';
import { learning } from './learning/pipeline.ts';
import { smartMetadata } from './smart-metadata/pipeline.ts';

export type { PipelineServices } from '../kit/index.ts';

export const pipelines: readonly Pipeline[] = [builtin, automatedGather, smartMetadata, learning, content];

/** The core's migrations, then each pipeline's, in registration order. */
export const migrationSources: readonly MigrationSource[] = [
  coreMigrations,
  ...pipelines.flatMap((pipeline) => (pipeline.migrationSource ? [pipeline.migrationSource] : [])),
];

/** Every task type as declared, in registration order: what `builtinTaskTypes` builds, without building it. */
export const builtinTaskTypeSummaries: readonly TaskTypeSummary[] = pipelines.flatMap((pipeline) => pipeline.taskTypes);

export async function builtinTaskTypes(services: PipelineServices): Promise<AnyTaskDefinition[]> {
  return (await Promise.all(pipelines.map((pipeline) => pipeline.tasks(services)))).flat();
}

/**
 * HTTP routes pipelines add to the API (each is registered inside the authenticated scope), and
 * the listing of the events they declare.
 */
export function builtinRoutes(services: PipelineRouteServices): FastifyPluginAsync[] {
  return [...pipelines.flatMap((pipeline) => (pipeline.routes ? [pipeline.routes(services)] : [])), eventTypeRoutes(pipelines)];
}
