/**
 * Personas (content_personas): a generation replaces the company's draft personas; a selection
 * makes 3 to the plan's cap of them `active` and archives the rest.
 */
import { ConflictError } from './errors.ts';
import { isUuid, type Queryable } from '../../kit/index.ts';
import { ValidationError } from '../../errors.ts';
import { diffFields, recordEdit } from './edits.ts';
import { firstOrNotFound, isoRow } from './rows.ts';
import { personaCaps, type GeneratedPersona, type Plan } from './schemas.ts';

export interface Persona extends GeneratedPersona {
  id: string;
  company_id: string;
  position: number;
  status: 'draft' | 'active' | 'archived';
  /** The model that wrote the persona (`offline:` for the offline stand-in); null before migration content/0002. */
  model: string | null;
  task_id: string | null;
  created_at: string;
  updated_at: string;
}

export const personaColumns = 'id, company_id, position, name, bio, archetype, mbti, "values", frustrations, expertise_topics, vocabulary_level, status, model, task_id, created_at, updated_at';

/**
 * Replaces the company's personas that are not in use (draft ones) by the generated ones, in
 * their order after the company's other personas: two statements, whatever the count (it is in
 * the step's transaction, which the run's next stage waits for).
 */
export async function replaceDraftPersonas(database: Queryable, scope: { tenant: string; companyId: string; taskId: string; model: string | null }, personas: GeneratedPersona[]): Promise<void> {
  await database.query("DELETE FROM content_personas WHERE tenant = $1 AND company_id = $2 AND status = 'draft' AND NOT EXISTS (SELECT 1 FROM content_topics t WHERE t.persona_id = content_personas.id)", [scope.tenant, scope.companyId]);
  await database.query(
    `INSERT INTO content_personas (tenant, company_id, position, name, bio, archetype, mbti, "values", frustrations, expertise_topics, vocabulary_level, task_id, model)
     SELECT $1, $2, (SELECT coalesce(max(position), 0) FROM content_personas WHERE company_id = $2) + persona.position,
       persona.name, persona.bio, persona.archetype, persona.mbti, persona."values", persona.frustrations, persona.expertise_topics, persona.vocabulary_level, $3, $5
     FROM jsonb_to_recordset($4::jsonb) AS persona (position int, name text, bio text, archetype text, mbti text, "values" text[], frustrations text[], expertise_topics text[], vocabulary_level text)
     ORDER BY persona.position`,
    [scope.tenant, scope.companyId, scope.taskId, JSON.stringify(personas.map((persona, index) => ({ ...persona, position: index + 1 }))), scope.model],
  );
}

export async function listPersonas(database: Queryable, tenant: string, companyId: string, options: { status?: Persona['status'] } = {}): Promise<Persona[]> {
  const result = await database.query<Persona>(`SELECT ${personaColumns} FROM content_personas WHERE tenant = $1 AND company_id = $2 ${options.status ? 'AND status = $3' : ''} ORDER BY position`, options.status ? [tenant, companyId, options.status] : [tenant, companyId]);
  return result.rows.map(isoRow);
}

/** Several personas in one query, in the order given; 404 for the first one missing. */
export async function getPersonas(database: Queryable, tenant: string, ids: string[]): Promise<Persona[]> {
  const rows = (await database.query<Persona>(`SELECT ${personaColumns} FROM content_personas WHERE tenant = $1 AND id = ANY($2::uuid[])`, [tenant, ids.filter(isUuid)])).rows;
  const byId = new Map(rows.map((row) => [row.id, isoRow(row)]));
  return ids.map((id) => firstOrNotFound(byId.has(id) ? [byId.get(id)!] : [], 'persona', id));
}

export async function getPersona(database: Queryable, tenant: string, id: string): Promise<Persona> {
  const rows = isUuid(id) ? (await database.query<Persona>(`SELECT ${personaColumns} FROM content_personas WHERE tenant = $1 AND id = $2`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, 'persona', id));
}

/**
 * Makes exactly `personaIds` the company's active personas (3 up to the plan's cap; fewer only when
 * fewer exist) and archives the others. Every id must be one of the company's personas.
 */
export async function selectPersonas(database: Queryable, scope: { tenant: string; companyId: string; plan: Plan }, personaIds: string[]): Promise<Persona[]> {
  const unique = await checkPersonaSelection(database, scope, personaIds, { lock: true });
  await database.query("UPDATE content_personas SET status = CASE WHEN id = ANY($3::uuid[]) THEN 'active' ELSE 'archived' END, updated_at = now() WHERE tenant = $1 AND company_id = $2", [scope.tenant, scope.companyId, unique]);
  return listPersonas(database, scope.tenant, scope.companyId, { status: 'active' });
}

/**
 * The selection's rules (`selectPersonas`), checked without selecting: a route asked to start a
 * run with `persona_ids` refuses them at once (400) rather than queue a run that can only fail.
 * `lock`: the company's persona rows stay locked for the caller's transaction. Returns the ids,
 * each once.
 */
export async function checkPersonaSelection(database: Queryable, scope: { tenant: string; companyId: string; plan: Plan }, personaIds: string[], options: { lock?: boolean } = {}): Promise<string[]> {
  const unique = [...new Set(personaIds)];
  const cap = personaCaps[scope.plan];
  if (unique.length > cap) throw new ValidationError(`The ${scope.plan} plan allows ${cap} active personas; ${unique.length} were selected.`, { issues: [{ path: 'persona_ids', message: `at most ${cap} on the ${scope.plan} plan` }] });
  const known = await database.query<{ id: string }>(`SELECT id FROM content_personas WHERE tenant = $1 AND company_id = $2${options.lock ? ' FOR UPDATE' : ''}`, [scope.tenant, scope.companyId]);
  const knownIds = new Set(known.rows.map((row) => row.id));
  const unknown = unique.filter((id) => !knownIds.has(id));
  if (unknown.length > 0) throw new ValidationError(`Not personas of this company: ${unknown.join(', ')}.`, { issues: [{ path: 'persona_ids', message: 'unknown persona' }] });
  if (unique.length < Math.min(3, knownIds.size)) throw new ValidationError(`Select at least 3 personas (the company has ${knownIds.size}).`, { issues: [{ path: 'persona_ids', message: 'at least 3' }] });
  if (unique.length === 0) throw new ConflictError('no_personas', 'The company has no personas yet: generate them first.', {});
  return unique;
}

export async function editPersona(database: Queryable, tenant: string, id: string, changes: Partial<GeneratedPersona>, editedBy: string): Promise<Persona> {
  const before = await getPersona(database, tenant, id);
  const merged = { ...before, ...changes };
  await database.query(
    `UPDATE content_personas SET name = $3, bio = $4, archetype = $5, mbti = $6, "values" = $7, frustrations = $8, expertise_topics = $9, vocabulary_level = $10, updated_at = now() WHERE tenant = $1 AND id = $2`,
    [tenant, id, merged.name, merged.bio, merged.archetype, merged.mbti, merged.values, merged.frustrations, merged.expertise_topics, merged.vocabulary_level],
  );
  await recordEdit(database, { tenant, entity: 'persona', entityId: id, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, changes) });
  return getPersona(database, tenant, id);
}
