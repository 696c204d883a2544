/**
 * Where departments come from: Payload CMS when PAYLOAD_API_URL is set, else taskloom's own
 * `departments` table (tenant defaults, optionally replaced per project through the API/CLI).
 *
 * Never invented: when Payload fails, the caller gets its error. The seven Aladdin departments
 * below seed a tenant's defaults in the table (migration 0004 for tenant 'default'; other
 * tenants on first read), nothing else.
 */
import { withTransaction, type Pool, type Queryable } from '../../kit/index.ts';
import { DependencyError, ValidationError } from '../../errors.ts';
import type { PayloadClient } from '../../integrations/payload.ts';
import type { LlmGateway } from '../../llm/index.ts';
import { department, type Department, type DepartmentsUpdate } from './schemas.ts';

const seedModel = 'anthropic/claude-sonnet-4.5';
const seedSettings = { minQualityThreshold: 80, maxRetries: 3 };

/** The seven Aladdin departments (same rows as migration 0004 inserts for tenant 'default'). */
export const aladdinDepartments: ReadonlyArray<Omit<Department, 'id'>> = [
  { slug: 'story', name: 'Story Department', description: 'Story structure, premise, plot beats, acts, themes, conflicts, narrative arcs and the world the story happens in.', codeDepNumber: 1 },
  { slug: 'character', name: 'Character Department', description: 'Characters: their backgrounds, motivations, personalities, relationships, arcs, voices and appearance.', codeDepNumber: 2 },
  { slug: 'visual', name: 'Visual Department', description: 'Visual style: art direction, colour palettes, lighting, locations, set design, costumes and reference imagery.', codeDepNumber: 3 },
  { slug: 'image-quality', name: 'Image Quality Department', description: 'Image quality: consistency of characters and locations across shots, resolution, composition rules and visual continuity checks.', codeDepNumber: 4 },
  { slug: 'video', name: 'Video Department', description: 'Video: shot lists, camera movement, framing, pacing, editing rhythm, transitions and scene timing.', codeDepNumber: 5 },
  { slug: 'audio', name: 'Audio Department', description: 'Audio: dialogue delivery, voice casting, music themes, sound effects, ambience and the final mix.', codeDepNumber: 6 },
  { slug: 'production', name: 'Production Department', description: 'Production: schedule, budget, scene breakdown, asset tracking, rendering plan, risks and delivery.', codeDepNumber: 7 },
].map((entry) => ({ ...entry, gatherCheck: true, isActive: true, defaultModel: seedModel, coordinationSettings: { ...seedSettings } }));

interface DepartmentRow {
  id: string;
  project_id: string | null;
  slug: string;
  name: string;
  description: string;
  code_dep_number: number;
  gather_check: boolean;
  is_active: boolean;
  default_model: string | null;
  coordination_settings: { minQualityThreshold?: number; maxRetries?: number } & Record<string, unknown>;
}

function fromRow(row: DepartmentRow): Department {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    codeDepNumber: row.code_dep_number,
    gatherCheck: row.gather_check,
    isActive: row.is_active,
    defaultModel: row.default_model,
    coordinationSettings: {
      ...row.coordination_settings,
      minQualityThreshold: row.coordination_settings.minQualityThreshold ?? 80,
      maxRetries: row.coordination_settings.maxRetries ?? 3,
    },
  };
}

const columns = 'id, project_id, slug, name, description, code_dep_number, gather_check, is_active, default_model, coordination_settings';

async function insertDepartments(database: Queryable, tenant: string, projectId: string | null, departments: ReadonlyArray<Omit<Department, 'id'>>): Promise<void> {
  await database.query(
    `INSERT INTO departments (tenant, project_id, slug, name, description, code_dep_number, gather_check, is_active, default_model, coordination_settings)
     SELECT $1, $2, d.slug, d.name, d.description, d.code_dep_number, d.gather_check, d.is_active, d.default_model, d.coordination_settings
     FROM jsonb_to_recordset($3::jsonb) AS d (slug text, name text, description text, code_dep_number int, gather_check boolean, is_active boolean, default_model text, coordination_settings jsonb)
     ON CONFLICT DO NOTHING`,
    [
      tenant,
      projectId,
      JSON.stringify(departments.map((entry) => ({
        slug: entry.slug,
        name: entry.name,
        description: entry.description,
        code_dep_number: entry.codeDepNumber,
        gather_check: entry.gatherCheck,
        is_active: entry.isActive,
        default_model: entry.defaultModel,
        coordination_settings: entry.coordinationSettings,
      }))),
    ],
  );
}

/**
 * Every department of a project from the table (active or not, gathered or not), in
 * codeDepNumber order, and whether they are the project's own list or the tenant's defaults.
 */
/**
 * The departments whose `defaultModel` no call could be served by: a `provider:model` whose
 * provider has no key, none after the colon, or an id that names no provider and is no OpenRouter
 * `vendor/model` (a bare seed id is served through OpenRouter, or the default model, as the
 * gateway resolves it). One issue per such department, at its path in a department list, for a
 * refusal that names them all.
 */
export function unusableModels(llm: Pick<LlmGateway, 'resolveModel'>, departments: ReadonlyArray<Pick<Department, 'slug' | 'defaultModel'>>): Array<{ path: string; message: string }> {
  const issues: Array<{ path: string; message: string }> = [];
  departments.forEach((entry, index) => {
    if (!entry.defaultModel) return;
    try {
      llm.resolveModel('generation', entry.defaultModel);
    } catch (error) {
      issues.push({ path: `departments.${index}.defaultModel`, message: `${entry.slug}: ${error instanceof Error ? error.message : String(error)}` });
    }
  });
  return issues;
}

export async function listTableDepartments(pool: Pool, tenant: string, projectId: string): Promise<{ departments: Department[]; scope: 'project' | 'tenant' }> {
  const own = await pool.query<DepartmentRow>(`SELECT ${columns} FROM departments WHERE tenant = $1 AND project_id = $2 ORDER BY code_dep_number, slug`, [tenant, projectId]);
  if (own.rows.length > 0) return { departments: own.rows.map(fromRow), scope: 'project' };
  let defaults = await pool.query<DepartmentRow>(`SELECT ${columns} FROM departments WHERE tenant = $1 AND project_id IS NULL ORDER BY code_dep_number, slug`, [tenant]);
  if (defaults.rows.length === 0) {
    // A tenant without defaults yet gets the seven Aladdin departments (ON CONFLICT: two first reads at once insert once).
    await insertDepartments(pool, tenant, null, aladdinDepartments);
    defaults = await pool.query<DepartmentRow>(`SELECT ${columns} FROM departments WHERE tenant = $1 AND project_id IS NULL ORDER BY code_dep_number, slug`, [tenant]);
  }
  return { departments: defaults.rows.map(fromRow), scope: 'tenant' };
}

/**
 * Replaces a project's department list (the tenant defaults stay as they are). Two replacements
 * of one project take turns on a transaction lock: without it the second's insert met the rows the
 * first had just committed, skipped them (ON CONFLICT DO NOTHING), and left a mix of both lists.
 */
export async function replaceProjectDepartments(pool: Pool, tenant: string, projectId: string, update: DepartmentsUpdate): Promise<Department[]> {
  const slugs = new Set<string>();
  // A number orders the cascade and names a department to evaluate: two sharing one are ambiguous.
  const numbers = new Map<number, string>();
  for (const [index, entry] of update.departments.entries()) {
    if (slugs.has(entry.slug)) throw new ValidationError(`Department slug "${entry.slug}" appears twice.`, { issues: [{ path: 'departments', message: `duplicate slug ${entry.slug}` }] });
    slugs.add(entry.slug);
    const taken = numbers.get(entry.codeDepNumber);
    if (taken !== undefined) throw new ValidationError(`Departments "${taken}" and "${entry.slug}" both have codeDepNumber ${entry.codeDepNumber}; give each its own place in the cascade.`, { issues: [{ path: `departments.${index}.codeDepNumber`, message: `duplicate number ${entry.codeDepNumber} (also ${taken})` }] });
    numbers.set(entry.codeDepNumber, entry.slug);
  }
  await withTransaction(pool, async (transaction) => {
    await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`departments:${tenant}:${projectId}`]);
    await transaction.query('DELETE FROM departments WHERE tenant = $1 AND project_id = $2', [tenant, projectId]);
    await insertDepartments(transaction, tenant, projectId, update.departments);
  });
  return (await listTableDepartments(pool, tenant, projectId)).departments;
}

/**
 * A gather keys every step of a department by its slug: two departments with one slug would share
 * their checkpoints (the second replaying the first's, never gathered), and a slug outside the
 * table's rule would not be one the API can name. Payload does not check either, so its list is
 * refused, as any other invalid department is.
 */
function refuseUnusableSlugs(slugs: string[], baseUrl: string): void {
  const seen = new Set<string>();
  for (const slug of slugs) {
    const parsed = department.shape.slug.safeParse(slug);
    if (!parsed.success) {
      throw new DependencyError('Payload CMS', `department slug "${slug}" is not one taskloom can key a gather by (${parsed.error.issues[0]?.message ?? 'invalid'}); fix it in Payload`, { details: { url: baseUrl, slug }, retryable: false });
    }
    if (seen.has(slug)) {
      throw new DependencyError('Payload CMS', `two departments to gather have the slug "${slug}"; give each its own slug in Payload`, { details: { url: baseUrl, slug }, retryable: false });
    }
    seen.add(slug);
  }
}

export interface DepartmentSource {
  readonly kind: 'payload' | 'table';
  /** The departments a gather processes: gatherCheck and isActive, in codeDepNumber order. */
  gatherDepartments(tenant: string, projectId: string, signal?: AbortSignal): Promise<Department[]>;
}

export function createDepartmentSource(options: { pool: Pool; payload?: PayloadClient | undefined }): DepartmentSource {
  const { pool, payload } = options;
  if (payload) {
    return {
      kind: 'payload',
      async gatherDepartments(_tenant, _projectId, signal) {
        const departments = await payload.fetchGatherDepartments(signal);
        refuseUnusableSlugs(departments.map((entry) => entry.slug), payload.baseUrl);
        return departments.map((entry): Department => ({
          id: entry.id,
          slug: entry.slug,
          name: entry.name,
          description: entry.description,
          codeDepNumber: entry.codeDepNumber,
          gatherCheck: entry.gatherCheck,
          isActive: entry.isActive,
          defaultModel: entry.defaultModel,
          coordinationSettings: {
            ...(entry.coordinationSettings ?? {}),
            minQualityThreshold: entry.coordinationSettings?.minQualityThreshold ?? 80,
            maxRetries: entry.coordinationSettings?.maxRetries ?? 3,
          },
        }));
      },
    };
  }
  return {
    kind: 'table',
    async gatherDepartments(tenant, projectId) {
      const { departments } = await listTableDepartments(pool, tenant, projectId);
      return departments.filter((entry) => entry.gatherCheck && entry.isActive);
    },
  };
}
