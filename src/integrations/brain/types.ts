/**
 * The Brain: project knowledge used for cascading context, duplicate search and coverage.
 * Two implementations share this interface: the built-in one on PostgreSQL (gather_items and their
 * embeddings) and a REST client for the Brain service (BRAIN_SERVICE_BASE_URL).
 */
import type { Queryable } from '../../db/pool.ts';

export interface BrainNode {
  id: string;
  content: string;
  department?: string | undefined;
  score?: number | undefined;
}

export interface BrainScope {
  tenant: string;
  projectId: string;
}

export interface DepartmentContextRequest extends BrainScope {
  department: string;
  /** Slugs of the departments processed before this one, in order. */
  previousDepartments: string[];
  /** @default 12 */
  limit?: number;
  signal?: AbortSignal | undefined;
}

export interface IndexableItem {
  id: string;
  department: string;
  content: string;
  summary: string;
  context: string;
  properties: Record<string, unknown>;
}

export interface DuplicateSearchRequest extends BrainScope {
  content: string;
  threshold: number;
  /** @default 5 */
  limit?: number;
  /** @default 'gather' */
  type?: string;
  department?: string;
  signal?: AbortSignal | undefined;
}

export interface CoverageRequest extends BrainScope {
  department: string;
  departmentName: string;
  description: string;
  signal?: AbortSignal | undefined;
}

export interface CoverageAnalysis {
  /** 0-100 when the service gives one. */
  coverage: number | null;
  gaps: string[];
  summary: string | null;
}

export interface Brain {
  readonly kind: 'builtin' | 'service';
  /** Context for generating a department's items: what earlier departments produced. */
  departmentContext(request: DepartmentContextRequest): Promise<BrainNode[]>;
  /**
   * Indexes saved items. The built-in brain needs nothing beyond the rows written in
   * `transaction`; the service gets one `POST /api/v1/nodes/batch` per 50 items.
   */
  indexItems(scope: BrainScope, items: IndexableItem[], transaction: Queryable, signal?: AbortSignal): Promise<{ indexed: number }>;
  /** Nodes similar to `content` (service only; the built-in search runs on embeddings in the pipeline). */
  searchDuplicates(request: DuplicateSearchRequest): Promise<BrainNode[]>;
  /** Coverage analysis of a department (service only; null from the built-in brain). */
  analyzeCoverage(request: CoverageRequest): Promise<CoverageAnalysis | null>;
}
