/**
 * The built-in Brain: PostgreSQL itself. Saved gather items (with their embeddings) are the
 * index, so indexing is the insert the pipeline already makes; context is the recent items of
 * the earlier departments.
 */
import type { Pool } from '../../db/pool.ts';
import type { Brain, BrainNode } from './types.ts';

export function createBuiltinBrain(pool: Pool): Brain {
  return {
    kind: 'builtin',
    async departmentContext(request) {
      if (request.previousDepartments.length === 0) return [];
      const limit = request.limit ?? 12;
      // The most recent items of each earlier department, spread evenly over them.
      const perDepartment = Math.max(1, Math.ceil(limit / request.previousDepartments.length));
      const result = await pool.query<{ id: string; summary: string; department: string }>(
        `SELECT id, summary, department FROM (
           SELECT id, summary, department, created_at,
                  row_number() OVER (PARTITION BY department ORDER BY created_at DESC, id DESC) AS rank
           FROM gather_items WHERE tenant = $1 AND project_id = $2 AND department = ANY($3::text[])
         ) ranked WHERE rank <= $4
         ORDER BY array_position($3::text[], department), created_at, id
         LIMIT $5`,
        [request.tenant, request.projectId, request.previousDepartments, perDepartment, limit],
      );
      return result.rows.map((row): BrainNode => ({ id: row.id, content: row.summary, department: row.department }));
    },
    async indexItems(_scope, items) {
      return { indexed: items.length };
    },
    async searchDuplicates() {
      return [];
    },
    async analyzeCoverage() {
      return null;
    },
  };
}
