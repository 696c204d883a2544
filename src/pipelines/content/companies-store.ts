/**
 * Companies and their researched DNA (content_companies, content_company_dna).
 */
import { isUuid, type Queryable } from '../../kit/index.ts';
import { diffFields, recordEdit } from './edits.ts';
import { firstOrNotFound, isoRow } from './rows.ts';
import { notFound, type CompanyDna, type Plan } from './schemas.ts';

export interface Company {
  id: string;
  tenant: string;
  name: string;
  website: string | null;
  plan: Plan;
  created_at: string;
  updated_at: string;
}

export interface CompanyDnaRecord {
  company_id: string;
  data: CompanyDna;
  sources: Array<{ field: string; url: string; title: string }>;
  not_found: string[];
  model: string;
  task_id: string | null;
  created_at: string;
  updated_at: string;
}

export const companyColumns = 'id, tenant, name, website, plan, created_at, updated_at';
export const dnaColumns = 'company_id, data, sources, not_found, model, task_id, created_at, updated_at';

export async function createCompany(database: Queryable, tenant: string, company: { name: string; website?: string | null | undefined; plan: Plan }): Promise<Company> {
  const result = await database.query<Company>(`INSERT INTO content_companies (tenant, name, website, plan) VALUES ($1, $2, $3, $4) RETURNING ${companyColumns}`, [tenant, company.name, company.website ?? null, company.plan]);
  return isoRow(result.rows[0]!);
}

/** The tenant's company, or 404 (another tenant's company does not exist for this one). */
export async function getCompany(database: Queryable, tenant: string, id: string, options: { lock?: boolean } = {}): Promise<Company> {
  const rows = isUuid(id) ? (await database.query<Company>(`SELECT ${companyColumns} FROM content_companies WHERE tenant = $1 AND id = $2${options.lock ? ' FOR UPDATE' : ''}`, [tenant, id])).rows : [];
  return isoRow(firstOrNotFound(rows, 'company', id));
}

export async function listCompanies(database: Queryable, tenant: string): Promise<Company[]> {
  const result = await database.query<Company>(`SELECT ${companyColumns} FROM content_companies WHERE tenant = $1 ORDER BY created_at, id`, [tenant]);
  return result.rows.map(isoRow);
}

export async function updateCompany(database: Queryable, tenant: string, id: string, changes: { name?: string | undefined; website?: string | null | undefined; plan?: Plan | undefined }, editedBy: string): Promise<Company> {
  const before = await getCompany(database, tenant, id, { lock: true });
  const result = await database.query<Company>(
    `UPDATE content_companies SET name = coalesce($3, name), website = CASE WHEN $4::boolean THEN $5 ELSE website END, plan = coalesce($6, plan), updated_at = now()
     WHERE tenant = $1 AND id = $2 RETURNING ${companyColumns}`,
    [tenant, id, changes.name ?? null, changes.website !== undefined, changes.website ?? null, changes.plan ?? null],
  );
  await recordEdit(database, { tenant, entity: 'company', entityId: id, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, changes) });
  return isoRow(result.rows[0]!);
}

/** The points research found nothing for: "Not found", an empty list, or a null scale. */
export function notFoundFields(dna: CompanyDna): string[] {
  return Object.entries(dna).filter(([, value]) => value === null || (Array.isArray(value) && value.length === 0) || (typeof value === 'string' && value.trim() === notFound)).map(([field]) => field);
}

/**
 * What a model answered, made honest: blank strings and the usual ways of saying "unknown"
 * become "Not found", blank list entries are dropped. Nothing is filled in.
 */
export function normaliseDna(dna: CompanyDna): CompanyDna {
  const unknown = /^(n\/?a|unknown|none|not available|not found|no data|-|\?)\.?$/i;
  const result: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(dna)) {
    if (typeof value === 'string') result[field] = value.trim() === '' || unknown.test(value.trim()) ? notFound : value.trim();
    else if (Array.isArray(value)) result[field] = value.map((entry) => String(entry).trim()).filter((entry) => entry.length > 0 && !unknown.test(entry));
    else result[field] = value;
  }
  return result as CompanyDna;
}

export async function saveDna(database: Queryable, record: { tenant: string; companyId: string; data: CompanyDna; sources: CompanyDnaRecord['sources']; model: string; taskId: string }): Promise<void> {
  await database.query(
    `INSERT INTO content_company_dna (company_id, tenant, data, sources, not_found, model, task_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (company_id) DO UPDATE SET data = excluded.data, sources = excluded.sources, not_found = excluded.not_found, model = excluded.model, task_id = excluded.task_id, updated_at = now()`,
    [record.companyId, record.tenant, JSON.stringify(record.data), JSON.stringify(record.sources), notFoundFields(record.data), record.model, record.taskId],
  );
}

export async function getDna(database: Queryable, tenant: string, companyId: string): Promise<CompanyDnaRecord | undefined> {
  const result = await database.query<CompanyDnaRecord>(`SELECT ${dnaColumns} FROM content_company_dna WHERE tenant = $1 AND company_id = $2`, [tenant, companyId]);
  return result.rows[0] ? isoRow(result.rows[0]) : undefined;
}

/** A marketer's correction of some data points; the change is recorded, the rest stays. */
export async function editDna(database: Queryable, tenant: string, companyId: string, changes: Partial<CompanyDna>, editedBy: string): Promise<CompanyDnaRecord | undefined> {
  const current = await database.query<{ data: CompanyDna }>('SELECT data FROM content_company_dna WHERE tenant = $1 AND company_id = $2 FOR UPDATE', [tenant, companyId]);
  const before = current.rows[0]?.data;
  if (!before) return undefined;
  const data = { ...before, ...changes } as CompanyDna;
  await database.query('UPDATE content_company_dna SET data = $3, not_found = $4, updated_at = now() WHERE tenant = $1 AND company_id = $2', [tenant, companyId, JSON.stringify(data), notFoundFields(data)]);
  await recordEdit(database, { tenant, entity: 'company_dna', entityId: companyId, editedBy, changes: diffFields(before as unknown as Record<string, unknown>, changes) });
  return getDna(database, tenant, companyId);
}
