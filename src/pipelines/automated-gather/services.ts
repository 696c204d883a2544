/**
 * What the automated gather pipeline needs from the process, injected so tests can swap any part
 * (a gateway on mock models, a Payload or Brain client pointed at a local server).
 */
import type { Config } from '../../config.ts';
import type { Pool } from '../../kit/index.ts';
import { createBrain, type Brain } from '../../integrations/brain/index.ts';
import { createPayloadClient, type PayloadClient } from '../../integrations/payload.ts';
import type { LlmGateway } from '../../llm/index.ts';
import type { Logger } from '../../logger.ts';
import { createDepartmentSource, type DepartmentSource } from './departments.ts';

export interface GatherServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
  /** @default a client for PAYLOAD_API_URL when it is set, else none (the departments table) */
  payload?: PayloadClient | undefined;
  /** @default the Brain service when BRAIN_SERVICE_BASE_URL is set, else the built-in brain */
  brain?: Brain | undefined;
  /** First retry delay of a failed gather attempt. @default the cpu_intensive queue's (10 s) */
  retryBaseDelayMs?: number | undefined;
}

export interface ResolvedGatherServices {
  config: Config;
  pool: Pool;
  logger: Logger;
  llm: LlmGateway;
  brain: Brain;
  departments: DepartmentSource;
  retryBaseDelayMs: number | undefined;
}

export function resolveGatherServices(services: GatherServices): ResolvedGatherServices {
  const payload = services.payload ?? (services.config.payloadApiUrl ? createPayloadClient({ baseUrl: services.config.payloadApiUrl, apiKey: services.config.payloadApiKey }) : undefined);
  return {
    config: services.config,
    pool: services.pool,
    logger: services.logger,
    llm: services.llm,
    brain: services.brain ?? createBrain(services.config, services.pool),
    departments: createDepartmentSource({ pool: services.pool, payload }),
    retryBaseDelayMs: services.retryBaseDelayMs,
  };
}

/** Appends one pipeline event in `transaction`, with the seed's common fields. */
/** The seed's event payload: `type`, `project_id`, `task_id` and `timestamp` around the fields. */
export function gatherEventPayload(scope: { taskId: string; projectId: string }, type: string, payload: Record<string, unknown>): Record<string, unknown> {
  return { type, project_id: scope.projectId, task_id: scope.taskId, timestamp: new Date().toISOString(), ...payload };
}
