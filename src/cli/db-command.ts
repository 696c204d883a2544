/**
 * `taskloom db status | start | stop | psql`: the embedded PostgreSQL of this folder, as an
 * operator needs to see it: where the data and the log are, the port, which taskloom processes
 * use it (their attach sessions, read from PostgreSQL's lock table), and servers left over by
 * other folders.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { ConfigError, TaskloomError } from '../errors.ts';
import type { Runtime } from './runtime.ts';

type Server = typeof import('../db/embedded-postgres-server.ts');

interface Attached {
  /** `taskloom <command> pid=<pid>`, as the process named its attach session. */
  application_name: string;
  since: string;
}

interface OtherServer {
  port: number;
  data_path: string | null;
  /** Its data folder no longer exists: the server of a deleted folder, killed without stopping it. */
  folder_deleted: boolean;
}

/** The URL without its password, for start-up lines and status. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function withClient<Result>(url: string, work: (client: pg.Client) => Promise<Result>): Promise<Result | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return await work(client);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

async function attachedProcesses(url: string, key: number): Promise<Attached[]> {
  return (await withClient(url, async (client) => (await client.query<Attached>(
    `SELECT activity.application_name, to_char(activity.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
       FROM pg_locks AS locks JOIN pg_stat_activity AS activity USING (pid)
      WHERE locks.locktype = 'advisory' AND locks.granted AND ((locks.classid::bigint << 32) | locks.objid::bigint) = $1
      ORDER BY activity.backend_start`, [key])).rows)) ?? [];
}

/**
 * Servers with the embedded credentials on `ports` that are not this folder's. One whose data
 * folder was deleted under it still accepts connections but fails every new session with
 * 58P01 (it cannot open its own files).
 */
async function otherServers(ports: number[], ownPort: number | undefined, server: Server): Promise<OtherServer[]> {
  const found: OtherServer[] = [];
  for (const port of new Set(ports)) {
    if (port === ownPort) continue;
    try {
      const { client, dataPath } = await server.connectTo(port, 'taskloom db status');
      await client.end().catch(() => {});
      found.push({ port, data_path: dataPath, folder_deleted: !existsSync(dataPath) });
    } catch (error) {
      if ((error as { code?: string }).code === '58P01') found.push({ port, data_path: null, folder_deleted: true });
    }
  }
  return found;
}

/** Data folders kept under /var/lib/taskloom (root, private homes) whose home has been deleted. */
async function orphanedDataFolders(root: string): Promise<Array<{ data_path: string; home: string }>> {
  const orphans = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const home = (await readFile(path.join(root, name, 'home'), 'utf8').catch(() => '')).trim();
    if (home && !existsSync(home)) orphans.push({ data_path: path.join(root, name, 'postgres'), home });
  }
  return orphans;
}

export function dbCommand(runtime: Runtime): Command {
  const db = new Command('db').description('The embedded PostgreSQL of this folder: status, start, stop, psql');

  const embedded = async () => {
    const config = runtime.loadConfig();
    if (config.databaseUrl) throw new ConfigError('DATABASE_URL is set, so taskloom uses that PostgreSQL and does not manage it; unset DATABASE_URL to use the embedded one.');
    const [server, embeddedPostgres] = await Promise.all([import('../db/embedded-postgres-server.ts'), import('../db/embedded-postgres.ts')]);
    const folder = await server.locateDataFolder(config.homePath);
    return { config, folder, server, embeddedPostgres };
  };

  db.command('status')
    .description('Where the data and the server log are, the port, which taskloom processes use it, and servers left by other folders')
    .option('--json', 'print it as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = runtime.loadConfig();
      if (config.databaseUrl) {
        const reachable = (await withClient(config.databaseUrl, async () => true)) ?? false;
        const status = { database: 'external', url: redact(config.databaseUrl), reachable };
        process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `database: ${status.url} (DATABASE_URL), ${reachable ? 'reachable' : 'NOT reachable'}\n`);
        return;
      }
      const { folder, server, embeddedPostgres } = await embedded();
      const state = await server.readServerState(folder.dataPath);
      const recordedPort = await server.readRecordedPort(folder);
      const port = state.kind === 'running' ? state.port : undefined;
      const status = {
        database: 'embedded',
        home: folder.homePath,
        data_path: folder.dataPath,
        log_path: folder.logPath,
        state: state.kind,
        pid: state.kind === 'stopped' ? null : state.pid,
        port: port ?? recordedPort ?? null,
        url: port === undefined ? null : server.urlFor(port),
        processes: port === undefined ? [] : await attachedProcesses(server.urlFor(port), embeddedPostgres.attachmentLockKey),
        other_servers: await otherServers([config.embeddedPort, ...(recordedPort ? [recordedPort] : [])], port, server),
        orphaned_data: await orphanedDataFolders(server.relocatedDataRoot),
      };
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const lines = [
        `data:      ${status.data_path}${folder.relocated ? ` (kept outside ${status.home}: the postgres user cannot reach it)` : ''}`,
        `log:       ${status.log_path}`,
        `server:    ${state.kind}${status.pid ? ` (pid ${status.pid})` : ''}${status.port ? `, port ${status.port}` : ''}`,
        `used by:   ${status.processes.length === 0 ? 'no taskloom process' : status.processes.map((entry) => `${entry.application_name} since ${entry.since}`).join('\n           ')}`,
        ...status.other_servers.map((other) => `left over: a PostgreSQL on port ${other.port} ${other.folder_deleted ? `serves ${other.data_path ?? 'a data folder'} that no longer exists (a deleted folder's server, killed without stopping it)` : `serves ${other.data_path}, not this folder`}; taskloom does not use it. Stop it by its pid: \`ss -ltnp 'sport = :${other.port}'\` names it.`),
        ...status.orphaned_data.map((orphan) => `orphaned:  ${orphan.data_path} holds the data of ${orphan.home}, which no longer exists`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  db.command('start')
    .description('Start the embedded PostgreSQL and leave it running (the last taskloom process to leave stops it)')
    .action(async () => {
      const { config, folder, embeddedPostgres, server } = await embedded();
      const place = await embeddedPostgres.bringUp(folder, { port: config.embeddedPort, log: (message) => runtime.logger.debug(message) });
      process.stdout.write(`${place.started ? 'started' : 'already running'}: ${server.urlFor(place.port)} (data ${folder.dataPath})\n`);
    });

  db.command('stop')
    .description('Stop the embedded PostgreSQL; refuses while a `serve` or `worker` uses it, unless --force')
    .option('--force', 'stop it even while a server or worker uses it (they lose their database)')
    .action(async (options: { force?: boolean }) => {
      const { folder, server, embeddedPostgres } = await embedded();
      const state = await server.readServerState(folder.dataPath);
      if (state.kind !== 'running') {
        process.stdout.write(`not running (${state.kind})\n`);
        return;
      }
      const users = (await attachedProcesses(server.urlFor(state.port), embeddedPostgres.attachmentLockKey))
        .filter((entry) => /^taskloom (serve|worker) /.test(entry.application_name));
      if (users.length > 0 && !options.force) {
        throw new TaskloomError('database_in_use', `the embedded PostgreSQL is used by ${users.map((entry) => entry.application_name).join(', ')}; stop them first, or pass --force.`, { httpStatus: 409, retryable: false });
      }
      await server.stopServer(folder);
      process.stdout.write(`stopped (data ${folder.dataPath})\n`);
    });

  db.command('psql')
    .description('Open psql on the database taskloom uses (the embedded one is started for the session)')
    .allowExcessArguments()
    .argument('[args...]', 'passed on to psql')
    .action(async (args: string[]) => {
      const database = await runtime.openDatabase({ migrate: 'if-needed' });
      const child = spawn('psql', [database.url, ...args], { stdio: 'inherit' });
      // Ctrl-C is psql's (it cancels the query and goes on); a SIGTERM is passed on.
      runtime.childInForeground = true;
      const passOn = (): void => {
        child.kill('SIGTERM');
      };
      process.on('SIGTERM', passOn);
      try {
        const [code, error] = await Promise.race([
          once(child, 'exit').then(([exitCode, signal]) => [exitCodeOf(exitCode as number | null, signal as NodeJS.Signals | null), undefined] as const),
          once(child, 'error').then(([failure]) => [1, failure as NodeJS.ErrnoException] as const),
        ]);
        if (error) throw new ConfigError(`could not run psql (${error.code ?? error.message}); install the PostgreSQL client, or connect any client to ${database.url}`);
        process.exitCode = code;
      } finally {
        process.off('SIGTERM', passOn);
        runtime.childInForeground = false;
      }
    });

  return db;
}

/** A child's exit as a shell reports it: its code, or 128 plus the number of the signal that ended it. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}
