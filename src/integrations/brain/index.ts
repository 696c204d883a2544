/**
 * The Brain integration's public entry: the built-in PostgreSQL brain by default, the Brain
 * service's REST API when BRAIN_SERVICE_BASE_URL is set.
 */
import type { Config } from '../../config.ts';
import type { Pool } from '../../db/pool.ts';
import { createBrainServiceClient } from './brain-service-client.ts';
import { createBuiltinBrain } from './builtin-brain.ts';
import type { Brain } from './types.ts';

export { createBrainServiceClient, brainBatchLimit, type BrainServiceOptions } from './brain-service-client.ts';
export { createBuiltinBrain } from './builtin-brain.ts';
export type { Brain, BrainNode, BrainScope, CoverageAnalysis, CoverageRequest, DepartmentContextRequest, DuplicateSearchRequest, IndexableItem } from './types.ts';

export function createBrain(config: Pick<Config, 'brainServiceBaseUrl' | 'brainServiceApiKey'>, pool: Pool): Brain {
  if (config.brainServiceBaseUrl) return createBrainServiceClient({ baseUrl: config.brainServiceBaseUrl, apiKey: config.brainServiceApiKey });
  return createBuiltinBrain(pool);
}
