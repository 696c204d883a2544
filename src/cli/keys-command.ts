/**
 * `taskloom keys`: create, list and revoke tenants' API keys. A new key is printed once; only
 * its hash is stored.
 */
import { Command } from 'commander';
// The key store alone: the API's index would load Fastify and every route.
import { apiKeyRoles, createApiKey, listApiKeys, revokeApiKey } from '../api/keys.ts';
import { ValidationError } from '../errors.ts';
import type { Runtime } from './runtime.ts';

export function keysCommand(runtime: Runtime): Command {
  const keys = new Command('keys').description('Manage API keys (one tenant per key; keys are stored only as hashes)');

  keys.command('create')
    .description('Create an API key for a tenant (the tenant is created when new) and print it once')
    .requiredOption('--tenant <name>', 'tenant the key acts for')
    .option('--name <label>', 'label shown in `keys list`')
    .option('--role <role>', `what the key may do: ${apiKeyRoles.join(', ')}`, 'admin')
    .option('--json', 'print {id, tenant, role, key, webhook_secret} as JSON')
    .action(async (options: { tenant: string; name?: string; role: string; json?: boolean }) => {
      const database = await runtime.openDatabase();
      const created = await createApiKey(database.pool, { tenant: options.tenant, name: options.name, role: options.role });
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ id: created.id, tenant: created.tenant, name: created.name, role: created.role, prefix: created.prefix, key: created.key, webhook_secret: created.webhookSecret })}\n`);
        return;
      }
      process.stdout.write([
        `API key for tenant "${created.tenant}" (shown once; store it now):`,
        `  ${created.key}`,
        `key id: ${created.id}  prefix: ${created.prefix}  role: ${created.role}`,
        `webhook signing secret of "${created.tenant}": ${created.webhookSecret}`,
        '',
      ].join('\n'));
    });

  keys.command('list')
    .description('List keys (prefix, tenant, created, last used, revoked); never the keys themselves')
    .option('--tenant <name>', 'only this tenant\'s keys')
    .option('--json', 'print a JSON array')
    .action(async (options: { tenant?: string; json?: boolean }) => {
      const database = await runtime.openDatabase({ migrate: 'if-needed' });
      const listed = await listApiKeys(database.pool, { tenant: options.tenant });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        return;
      }
      if (listed.length === 0) {
        process.stdout.write('no keys\n');
        return;
      }
      const rows = [['ID', 'TENANT', 'ROLE', 'PREFIX', 'NAME', 'CREATED', 'LAST USED', 'REVOKED'], ...listed.map((key) => [
        key.id, key.tenant, key.role, key.prefix, key.name ?? '', key.created_at, key.last_used_at ?? '-', key.revoked_at ?? '-',
      ])];
      const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
      for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
    });

  keys.command('revoke')
    .description('Revoke a key by its id or prefix; requests with it answer 401 at once on running servers (they are notified), and its open streams close')
    .argument('<id-or-prefix>', 'key id (uuid) or prefix from `keys list`')
    .action(async (idOrPrefix: string) => {
      const database = await runtime.openDatabase();
      const revoked = await revokeApiKey(database.pool, idOrPrefix);
      if (revoked.length === 0) throw new ValidationError(`No single active key matches "${idOrPrefix}"; see \`taskloom keys list\`.`);
      process.stdout.write(`revoked ${revoked[0]!.prefix} (tenant ${revoked[0]!.tenant})\n`);
    });

  return keys;
}
