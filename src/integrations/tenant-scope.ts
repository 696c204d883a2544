/**
 * Names taskloom shares with systems outside it (a Redis channel, a project id at the Brain
 * service) carry no tenant in the seeds' formats, so two tenants using one project id would share
 * them. Every tenant but `default` gets its names prefixed `tenant:{tenant}:` (tenant names cannot
 * contain `:`, and no seed name starts with `tenant:`, so no two tenants' names collide whatever
 * their project ids); the `default` tenant keeps the seeds' names, so a single-tenant install's
 * subscribers and stored Brain data keep working.
 */

/** The tenant whose names are the seeds' own, unprefixed. */
export const seedTenant = 'default';

/** `name` as tenant `tenant` uses it outside taskloom. */
export function tenantScoped(tenant: string, name: string): string {
  return tenant === seedTenant ? name : `tenant:${tenant}:${name}`;
}
