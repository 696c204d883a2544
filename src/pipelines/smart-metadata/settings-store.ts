/**
 * Per-tenant settings of the pipeline (`smart_metadata_settings`): SHOW_AI_META, the seed's flag
 * for showing AI tags in the UI, and automatic regeneration on content change.
 */
import type { Config } from '../../config.ts';
import type { Queryable } from '../../kit/index.ts';
import type { SettingsUpdate } from './schemas.ts';

export interface TenantSettings {
  show_ai_meta: boolean;
  regenerate_on_change: boolean;
}

/**
 * What a tenant without a row gets: SHOW_AI_META from NEXT_PUBLIC_SHOW_AI_META (the seed's
 * deployment flag), no regeneration on change. A tenant's first update stores these for the
 * fields it leaves out.
 */
export function defaultTenantSettings(config: Pick<Config, 'showAiMeta'>): TenantSettings {
  return { show_ai_meta: config.showAiMeta, regenerate_on_change: false };
}

export async function readTenantSettings(database: Queryable, tenant: string, defaults: TenantSettings): Promise<TenantSettings> {
  const result = await database.query<TenantSettings>('SELECT show_ai_meta, regenerate_on_change FROM smart_metadata_settings WHERE tenant = $1', [tenant]);
  return result.rows[0] ?? { ...defaults };
}

export async function updateTenantSettings(database: Queryable, tenant: string, update: SettingsUpdate, defaults: TenantSettings): Promise<TenantSettings> {
  const result = await database.query<TenantSettings>(
    `INSERT INTO smart_metadata_settings (tenant, show_ai_meta, regenerate_on_change)
     VALUES ($1, coalesce($2::boolean, $4::boolean), coalesce($3::boolean, $5::boolean))
     ON CONFLICT (tenant) DO UPDATE SET
       show_ai_meta = coalesce($2::boolean, smart_metadata_settings.show_ai_meta),
       regenerate_on_change = coalesce($3::boolean, smart_metadata_settings.regenerate_on_change),
       updated_at = now()
     RETURNING show_ai_meta, regenerate_on_change`,
    [tenant, update.show_ai_meta ?? null, update.regenerate_on_change ?? null, defaults.show_ai_meta, defaults.regenerate_on_change],
  );
  return result.rows[0]!;
}
