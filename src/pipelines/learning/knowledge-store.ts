/**
 * The knowledge base and its queue: `known_words`, `solidified_knowledge` and `unknown_words`,
 * every query scoped by tenant and keyed by the normalised form (normalise.ts).
 *
 * Writes take the step's transaction, so a batch's knowledge commits with its checkpoint or not
 * at all. Inserts are `ON CONFLICT DO NOTHING`: a word another job learned meanwhile is kept as
 * that job learned it, and only words this call inserted count as learned here. A job claims the
 * queued words it researches (`claimQueuedWords`), so concurrent jobs of one tenant do not
 * research, pay for and count the same word at once.
 */
import { isoTimestamp, type Queryable } from '../../kit/index.ts';
import type { KnowledgeEntry } from './schemas.ts';
import type { DeepenedWord, ResearchedWord, UnresolvedWord, WordToLearn } from './sources/research-source.ts';

/** A queued word that failed this many times is left in the queue but no longer picked. */
export const maxWordAttempts = 3;

/*
 * Planner note: the "not known yet" checks below are `NOT EXISTS (... OFFSET 0)`. OFFSET keeps
 * PostgreSQL from turning them into anti-joins, so each candidate is one primary-key probe. These
 * tables grow by thousands of rows a minute, faster than autovacuum's statistics follow: with
 * the stale estimate (2 rows) the anti-join plan was a nested loop over the whole known_words
 * table for every queued word, 152 ms per batch after 6 s of a job; the probes take under 1 ms.
 */

/** A word of tenant `$1` (its normalised form given by `normalised`) the tenant does not know. */
const notKnown = (normalised: string): string => `NOT EXISTS (SELECT 1 FROM known_words k WHERE k.tenant = $1 AND k.normalised = ${normalised} OFFSET 0)`;

/**
 * Records a round's tokens in raw_training and queues the learnable ones this job has not seen in
 * an earlier round and the tenant does not know yet. A word given up on (`maxWordAttempts`
 * failures) that a round proposes again is queued again with its attempts reset: its failures
 * may have been an outage on a job's last attempt or a model's bad day, and nothing else would
 * ever make it learnable. Returns how many were queued, new or again.
 */
export async function recordRound(transaction: Queryable, scope: { tenant: string; taskId: string; round: number }, tokens: readonly string[], words: ReadonlyArray<WordToLearn>, normalise: (token: string) => string): Promise<{ queued: number; fresh: number }> {
  if (tokens.length > 0) {
    await transaction.query(
      `INSERT INTO raw_training (task_id, tenant, round, position, token, normalised)
       SELECT $1, $2, $3, position - 1, token, normalised FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS t(token, normalised, position)
       ON CONFLICT DO NOTHING`,
      [scope.taskId, scope.tenant, scope.round, tokens.map((token) => token.slice(0, 200)), tokens.map((token) => normalise(token).slice(0, 200))],
    );
  }
  if (words.length === 0) return { queued: 0, fresh: 0 };
  const result = await transaction.query<{ queued: number; fresh: number }>(
    `WITH candidates AS (
       SELECT word, normalised FROM unnest($4::text[], $5::text[]) AS c(word, normalised)
       WHERE NOT EXISTS (SELECT 1 FROM raw_training r WHERE r.task_id = $2 AND r.round < $3 AND r.normalised = c.normalised OFFSET 0)
         AND ${notKnown('c.normalised')}
     ), inserted AS (
       INSERT INTO unknown_words (tenant, normalised, word, queued_by_task, round)
       SELECT $1, normalised, word, $2, $3 FROM candidates
       ON CONFLICT (tenant, normalised) DO UPDATE SET attempts = 0, last_error = NULL, queued_by_task = excluded.queued_by_task, round = excluded.round
         WHERE unknown_words.attempts >= $6
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM inserted)::int AS queued, (SELECT count(*) FROM candidates)::int AS fresh`,
    [scope.tenant, scope.taskId, scope.round, words.map((word) => word.word), words.map((word) => word.normalised), maxWordAttempts],
  );
  return result.rows[0] ?? { queued: 0, fresh: 0 };
}

/**
 * Claims the next queued words to learn for job `taskId`, oldest first, words that failed less
 * often first, and returns them in that order; words the tenant knows by now (learned by another
 * job) are skipped. `upToId` bounds the queue to what was there when a deep job started.
 *
 * Concurrent jobs of one tenant never get the same word: the select takes its rows FOR UPDATE
 * SKIP LOCKED (a word another job is claiming in this instant is skipped, not waited for) and
 * skips words whose claim belongs to another job and has not expired (a claim committed since the
 * statement began is re-read by PostgreSQL's row lock and skipped too). A word claimed by this
 * very job is taken again: a job resumed after its worker died continues the words it held.
 */
export async function claimQueuedWords(database: Queryable, tenant: string, limit: number, options: { taskId: string; claimUntil: Date; upToId?: number; excluding?: readonly string[] }): Promise<WordToLearn[]> {
  if (limit <= 0) return [];
  // The queue's head first (index order), then the known check on those few rows only, whatever
  // plan stale statistics lead to (see the planner note above). The head's rows are locked while
  // the statement runs; a concurrent claim skips them and takes the next ones.
  //
  // A known word in the queue is a race's leftover: a round queued it while another job's batch
  // learned it (the round's "not known" check read the tables before that batch committed, and
  // its insert waited for the batch's delete of the queued row, then went in). Such rows are
  // deleted here as the head reaches them; left, they stayed at the head for good, counted as
  // waiting and taking the places of the words behind them.
  const result = await database.query<WordToLearn & { attempts: number; id: string }>(
    `WITH head AS (
       SELECT u.tenant, u.normalised, u.attempts, u.id FROM unknown_words u
       WHERE u.tenant = $1 AND u.attempts < $2 AND ($3::bigint IS NULL OR u.id <= $3) AND NOT (u.normalised = ANY($5::text[]))
         AND (u.claimed_by IS NULL OR u.claimed_by = $6 OR u.claim_expires_at <= now())
       ORDER BY u.attempts, u.id LIMIT $4 + 20
       FOR UPDATE OF u SKIP LOCKED
     ), unknown AS (
       SELECT head.tenant, head.normalised FROM head
       WHERE ${notKnown('head.normalised')}
       ORDER BY head.attempts, head.id LIMIT $4
     ), known AS (
       DELETE FROM unknown_words u USING head
       WHERE u.tenant = head.tenant AND u.normalised = head.normalised AND NOT ${notKnown('head.normalised')}
     )
     UPDATE unknown_words u SET claimed_by = $6, claim_expires_at = $7
     FROM unknown WHERE u.tenant = unknown.tenant AND u.normalised = unknown.normalised
     RETURNING u.word, u.normalised, u.attempts, u.id`,
    [tenant, maxWordAttempts, options.upToId ?? null, limit, options.excluding ?? [], options.taskId, options.claimUntil],
  );
  // UPDATE ... RETURNING keeps no order: put the queue's order back.
  return result.rows
    .sort((left, right) => left.attempts - right.attempts || Number(left.id) - Number(right.id))
    .map((row) => ({ word: row.word, normalised: row.normalised }));
}

/**
 * Gives back job `taskId`'s claims: on `words` only (a batch saved or failed), or all of them (the
 * job ended). A claim another job has taken since (this one's had lapsed) is left alone.
 */
export async function releaseClaims(database: Queryable, tenant: string, taskId: string, words?: readonly string[]): Promise<void> {
  if (words !== undefined && words.length === 0) return;
  await database.query(
    `UPDATE unknown_words SET claimed_by = NULL, claim_expires_at = NULL
     WHERE claimed_by = $2 AND tenant = $1 AND ($3::text[] IS NULL OR normalised = ANY($3::text[]))`,
    [tenant, taskId, words ?? null],
  );
}

/** The newest queue id (deep mode learns the queue as it stood when it started). */
export async function lastQueuedId(database: Queryable, tenant: string): Promise<{ lastId: number; waiting: number }> {
  const result = await database.query<{ last_id: number | null; waiting: number }>(
    `SELECT max(id)::bigint AS last_id, count(*) FILTER (WHERE attempts < $2 AND ${notKnown('u.normalised')})::int AS waiting FROM unknown_words u WHERE tenant = $1`,
    [tenant, maxWordAttempts],
  );
  return { lastId: Number(result.rows[0]?.last_id ?? 0), waiting: result.rows[0]?.waiting ?? 0 };
}

/**
 * Stores researched words (known_words + solidified_knowledge) and takes them off the queue.
 * Returns the words this call inserted.
 */
export async function saveLearned(transaction: Queryable, scope: { tenant: string; taskId: string }, learned: readonly ResearchedWord[]): Promise<string[]> {
  if (learned.length === 0) return [];
  const inserted = await transaction.query<{ normalised: string }>(
    `INSERT INTO known_words (tenant, normalised, word, explanation, category, source, task_id)
     SELECT $1, normalised, word, definition, category, source, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS l(normalised, word, definition, category, source)
     ON CONFLICT DO NOTHING RETURNING normalised`,
    [scope.tenant, scope.taskId, learned.map((entry) => entry.normalised), learned.map((entry) => entry.word), learned.map((entry) => entry.definition), learned.map((entry) => entry.category), learned.map((entry) => entry.source)],
  );
  const fresh = new Set(inserted.rows.map((row) => row.normalised));
  const rows = learned.filter((entry) => fresh.has(entry.normalised));
  if (rows.length > 0) {
    await transaction.query(
      `INSERT INTO solidified_knowledge (tenant, normalised, word, definition, related_concepts, examples, category, source, "references", task_id)
       SELECT $1, e->>'normalised', e->>'word', e->>'definition', e->'related_concepts', e->'examples', e->>'category', e->>'source', e->'references', $2
       FROM jsonb_array_elements($3::jsonb) AS e
       ON CONFLICT DO NOTHING`,
      [scope.tenant, scope.taskId, JSON.stringify(rows.map((entry) => ({ normalised: entry.normalised, word: entry.word, definition: entry.definition, related_concepts: entry.related_concepts, examples: entry.examples, category: entry.category, source: entry.source, references: entry.references })))],
    );
  }
  await transaction.query('DELETE FROM unknown_words WHERE tenant = $1 AND normalised = ANY($2::text[])', [scope.tenant, learned.map((entry) => entry.normalised)]);
  return rows.map((entry) => entry.normalised);
}

/**
 * Counts job `taskId`'s failed attempt on queued words (the source could not define them, or its
 * call for them failed for good); they stay queued with the reason. Fenced
 * by the claim: a word another job claimed after this job's claim lapsed is that job's to count,
 * so one word is never counted twice for one moment of research.
 */
export async function recordUnresolved(transaction: Queryable, tenant: string, taskId: string, unresolved: readonly UnresolvedWord[]): Promise<void> {
  if (unresolved.length === 0) return;
  await transaction.query(
    `UPDATE unknown_words u SET attempts = u.attempts + 1, last_error = f.reason
     FROM unnest($2::text[], $3::text[]) AS f(normalised, reason)
     WHERE u.tenant = $1 AND u.normalised = f.normalised AND (u.claimed_by IS NULL OR u.claimed_by = $4)`,
    [tenant, unresolved.map((entry) => entry.normalised), unresolved.map((entry) => entry.reason.slice(0, 500)), taskId],
  );
}

/** An entry deep mode failed to deepen this many times is no longer picked (like maxWordAttempts). */
export const maxDeepenAttempts = 3;

/**
 * Solidified entries not deepened yet: entries that failed fewer times first, then oldest first.
 * Failures go behind the others, so entries the source cannot deepen do not take every run's
 * places; after maxDeepenAttempts they are left alone.
 */
export async function entriesToDeepen(database: Queryable, tenant: string, limit: number): Promise<Array<WordToLearn & { definition: string }>> {
  const result = await database.query<WordToLearn & { definition: string }>(
    `SELECT word, normalised, definition FROM solidified_knowledge
     WHERE tenant = $1 AND deepened_at IS NULL AND deepen_attempts < $2
     ORDER BY deepen_attempts, created_at, normalised LIMIT $3`,
    [tenant, maxDeepenAttempts, limit],
  );
  return result.rows;
}

/** Counts a failed deepening attempt on entries; they stay as they were, with the reason. */
export async function recordNotDeepened(transaction: Queryable, tenant: string, unresolved: readonly UnresolvedWord[]): Promise<void> {
  if (unresolved.length === 0) return;
  await transaction.query(
    `UPDATE solidified_knowledge s SET deepen_attempts = s.deepen_attempts + 1, deepen_last_error = f.reason
     FROM unnest($2::text[], $3::text[]) AS f(normalised, reason)
     WHERE s.tenant = $1 AND s.normalised = f.normalised AND s.deepened_at IS NULL`,
    [tenant, unresolved.map((entry) => entry.normalised), unresolved.map((entry) => entry.reason.slice(0, 500))],
  );
}

export async function saveDeepened(transaction: Queryable, tenant: string, deepened: readonly DeepenedWord[]): Promise<number> {
  if (deepened.length === 0) return 0;
  const result = await transaction.query(
    `UPDATE solidified_knowledge s SET expanded_definition = e->>'expanded_definition', applications = e->'applications',
       misconceptions = e->'misconceptions', deepened_source = e->>'source', deepened_at = now()
     FROM jsonb_array_elements($2::jsonb) AS e
     WHERE s.tenant = $1 AND s.normalised = e->>'normalised' AND s.deepened_at IS NULL`,
    [tenant, JSON.stringify(deepened)],
  );
  return result.rowCount ?? 0;
}

const knowledgeColumns = `k.word, k.normalised, k.explanation, s.definition, coalesce(s.related_concepts, '[]'::jsonb) AS related_concepts,
  coalesce(s.examples, '[]'::jsonb) AS examples, k.category, k.source, coalesce(s."references", '[]'::jsonb) AS "references",
  s.expanded_definition, s.applications, s.misconceptions, ${isoTimestamp('k.learned_at')} AS learned_at,
  ${isoTimestamp('s.deepened_at')} AS deepened_at, k.task_id AS job_id`;

export interface KnowledgeQuery {
  /** Substring of the normalised word (case- and width-insensitive like every identity). */
  search?: string | undefined;
  /**
   * Exact category (`noun.animal`) or a part of speech prefix (`noun`), compared as text: a `%`
   * or `_` in it is itself, not a pattern.
   */
  category?: string | undefined;
  limit: number;
  /** Normalised word to continue after (the previous page's `next_after`). */
  after?: string | undefined;
}

export async function listKnowledge(database: Queryable, tenant: string, query: KnowledgeQuery): Promise<{ entries: KnowledgeEntry[]; total: number }> {
  const filters = `k.tenant = $1
    AND ($2::text IS NULL OR strpos(k.normalised, $2) > 0)
    AND ($3::text IS NULL OR k.category = $3 OR left(k.category, length($3) + 1) = $3 || '.')`;
  const parameters = [tenant, query.search ?? null, query.category ?? null];
  const [page, count] = await Promise.all([
    database.query<KnowledgeEntry>(
      `SELECT ${knowledgeColumns} FROM known_words k LEFT JOIN solidified_knowledge s ON s.tenant = k.tenant AND s.normalised = k.normalised
       WHERE ${filters} AND ($4::text IS NULL OR k.normalised > $4) ORDER BY k.normalised LIMIT $5`,
      [...parameters, query.after ?? null, query.limit],
    ),
    database.query<{ total: number }>(`SELECT count(*)::int AS total FROM known_words k WHERE ${filters}`, parameters),
  ]);
  return { entries: page.rows, total: count.rows[0]?.total ?? 0 };
}

export async function getKnowledge(database: Queryable, tenant: string, normalised: string): Promise<KnowledgeEntry | undefined> {
  const result = await database.query<KnowledgeEntry>(
    `SELECT ${knowledgeColumns} FROM known_words k LEFT JOIN solidified_knowledge s ON s.tenant = k.tenant AND s.normalised = k.normalised
     WHERE k.tenant = $1 AND k.normalised = $2`,
    [tenant, normalised],
  );
  return result.rows[0];
}

/**
 * Word counts of a tenant (the page's header, `GET /knowledge`): known, queued (still to be
 * tried), given up (`maxWordAttempts` failures: no job picks them until a round proposes them
 * again), deepened.
 */
export async function knowledgeCounts(database: Queryable, tenant: string): Promise<{ known: number; queued: number; givenUp: number; deepened: number }> {
  const result = await database.query<{ known: number; queued: number; givenUp: number; deepened: number }>(
    `SELECT (SELECT count(*) FROM known_words WHERE tenant = $1)::int AS known,
            queue.queued, queue."givenUp",
            (SELECT count(*) FROM solidified_knowledge WHERE tenant = $1 AND deepened_at IS NOT NULL)::int AS deepened
     FROM (SELECT count(*) FILTER (WHERE attempts < $2)::int AS queued, count(*) FILTER (WHERE attempts >= $2)::int AS "givenUp"
           FROM unknown_words u WHERE tenant = $1 AND ${notKnown('u.normalised')}) AS queue`,
    [tenant, maxWordAttempts],
  );
  return result.rows[0] ?? { known: 0, queued: 0, givenUp: 0, deepened: 0 };
}
