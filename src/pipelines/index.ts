/**
 * Every built-in task type and the routes pipelines add. A process registers exactly this list,
 * so the API, workers and CLI agree on what can be submitted.
 */
import type { Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { AnyTaskDefinition } from '../engine/index.ts';
import type { LlmGateway } from '../llm/index.ts';
import type { Logger } from '../logger.ts';
import type { FastifyPluginAsync } from 'fastify';
import { sleepTask } from './builtin/sleep.ts';
import { automatedGatherTaskTypes, gatherRoutes } from './automated-gather/index.ts';

/** What pipelines are given: they reach the database and the LLM only through these. */
export interface PipelineServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
}

export function builtinTaskTypes(services: PipelineServices): AnyTaskDefinition[] {
  return [sleepTask, ...automatedGatherTaskTypes(services)];
}

/** HTTP routes pipelines add to the API (each is registered inside the authenticated scope). */
export function builtinRoutes(services: PipelineServices): FastifyPluginAsync[] {
  return [gatherRoutes(services)];
}
