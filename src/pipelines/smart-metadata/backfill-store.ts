/**
 * The nightly back-fill's query: the next projects that need AI metadata, in a stable order. A
 * project needs it when it has none, or, for a tenant with `regenerate_on_change`, when its AI row
 * describes older content than the project has and that content changed before the cut-off: the
 * regeneration the edit queued failed for good or was cancelled (the edit's own regeneration, or
 * its follow-up, has had the run's `min_age_minutes` to happen).
 *
 * Why a keyset cursor and not OFFSET: every project the back-fill handles leaves the set (it
 * needs metadata no more), so paging a shrinking set by offset skips a page's worth of projects
 * each time (the seed's bug). Walking `(created_at, id)` upward from the last project handled never skips a row
 * and never returns one twice, whatever else changes meanwhile.
 */
import type { Queryable } from '../../kit/index.ts';
import { describesOlderContent } from './meta-store.ts';
import { aiMetadataKey } from './schemas.ts';
import { positionSql, positionTimestamp, parsePosition } from './projects-store.ts';

export interface BackfillCandidate {
  id: string;
  tenant: string;
  /** The project's place in the order (`micros:id`), the cursor after it. */
  position: string;
}

/** The projects that need AI metadata (see above); `$1` the AI key, `$2` the cut-off. */
const needsMetadata = `(NOT EXISTS (SELECT 1 FROM project_meta m WHERE m.project_id = p.id AND m.key = $1)
       OR (p.content_changed_at < $2::timestamptz
         AND EXISTS (SELECT 1 FROM smart_metadata_settings s WHERE s.tenant = p.tenant AND s.regenerate_on_change)
         AND EXISTS (SELECT 1 FROM project_meta m WHERE m.project_id = p.id AND m.key = $1 AND ${describesOlderContent('m', 'p.content_changed_at')})))`;

export async function nextBackfillCandidates(database: Queryable, options: {
  /** undefined: every tenant. */
  tenant: string | undefined;
  /** The cursor: the position of the last project already handled, or null to start. */
  after: string | null;
  /** Only projects created before this instant (ISO), fixed when the run started. */
  createdBefore: string;
  limit: number;
}): Promise<BackfillCandidate[]> {
  const values: unknown[] = [aiMetadataKey, options.createdBefore, options.limit, options.tenant ?? null];
  let after = '';
  if (options.after) {
    const position = parsePosition(options.after);
    values.push(position.micros, position.id);
    after = `AND (p.created_at, p.id) > (${positionTimestamp('$5')}, $6::uuid)`;
  }
  const result = await database.query<BackfillCandidate>(
    `SELECT p.id, p.tenant, ${positionSql('p')} AS position FROM projects p
     WHERE NOT p.is_draft AND p.created_at < $2::timestamptz AND ($4::text IS NULL OR p.tenant = $4) ${after}
       AND ${needsMetadata}
     ORDER BY p.created_at, p.id LIMIT $3`,
    values,
  );
  return result.rows;
}

/** How many projects the run has left at most (for progress). */
export async function countBackfillCandidates(database: Queryable, options: { tenant: string | undefined; createdBefore: string }): Promise<number> {
  const result = await database.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM projects p
     WHERE NOT p.is_draft AND p.created_at < $2::timestamptz AND ($3::text IS NULL OR p.tenant = $3)
       AND ${needsMetadata}`,
    [aiMetadataKey, options.createdBefore, options.tenant ?? null],
  );
  return result.rows[0]?.count ?? 0;
}
