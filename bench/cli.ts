/**
 * bench:cli: how long the read commands take from the shell, as a newcomer runs them next to a
 * running `taskloom serve` (whose embedded PostgreSQL they attach to). With DATABASE_URL set,
 * against a fresh database on that server instead.
 *
 * Each command runs once to warm Node's compile cache, then RUNS times (default 9), round-robin
 * (every run times each command once); `watch` is timed to its first event line (the replay),
 * then stopped. Progress goes to stderr; the last
 * line on stdout is one JSON object with the medians in ms (target: 300 each), and beside them
 * `node_startup_median_ms`, a bare `node -e ''` timed the same way in the same run: the machine's
 * own floor, against which a slower or loaded machine's figures can be read.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openBenchDatabase, type BenchDatabase } from './support/bench-database.ts';
import { log, percentile } from './support/statistics.ts';

const runs = Number(process.env.RUNS ?? 9);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs `taskloom args`; resolves with the elapsed ms once `done(stdout)` holds or it exits. */
async function timed(args: string[], env: NodeJS.ProcessEnv, done?: (stdout: string) => boolean): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/taskloom.js', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  let ms: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (ms === undefined && done?.(stdout)) {
      ms = performance.now() - started;
      child.kill('SIGINT');
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  ms ??= performance.now() - started;
  if (!done && code !== 0) throw new Error(`taskloom ${args.join(' ')} exited ${code}: ${stdout}`);
  return { ms, stdout };
}

const median = (values: number[]): number => Math.round(percentile(values, 0.5));

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  let home: string | undefined;
  let serve: ReturnType<typeof spawn> | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LOG_LEVEL;
  try {
    if (process.env.DATABASE_URL) {
      database = await openBenchDatabase({ name: 'cli', poolSize: 2 });
      env.DATABASE_URL = database.url;
    } else {
      home = await mkdtemp(path.join(os.tmpdir(), 'taskloom-bench-cli-'));
      Object.assign(env, { TASKLOOM_HOME: home, PORT: String(await freePort()) });
      serve = spawn(process.execPath, ['bin/taskloom.js', 'serve', '--no-worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let output = '';
      serve.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      const deadline = Date.now() + 120_000;
      while (!output.includes('taskloom serving')) {
        if (serve.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      log(output.trim());
    }
    const submitted = await timed(['submit', 'sleep', '--data', '{"ms":0}', '--project', 'bench'], env);
    const taskId = (JSON.parse(submitted.stdout) as { task_id: string }).task_id;

    const commands: Record<string, { args: string[]; done?: (stdout: string) => boolean }> = {
      status: { args: ['status', taskId] },
      tasks: { args: ['tasks', '--json'] },
      types: { args: ['types'] },
      keys_list: { args: ['keys', 'list'] },
      watch_start: { args: ['watch', taskId], done: (stdout) => stdout.includes('\n') },
    };
    // The peer in the same run: Node starting and exiting with nothing to do. The target of 300 ms
    // was set when this took about 40 ms here; on a slower or busier machine both move together.
    const bareNode = async (): Promise<number> => {
      const started = performance.now();
      await once(spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }), 'exit');
      return performance.now() - started;
    };
    await bareNode();
    for (const command of Object.values(commands)) await timed(command.args, env, command.done);
    // Round-robin: each run times every command once, so a burst of other work on a shared
    // machine spreads over all of them instead of landing on one command's runs.
    const times: Record<string, number[]> = { node_startup: [], ...Object.fromEntries(Object.keys(commands).map((name) => [name, []])) };
    for (let run = 0; run < runs; run += 1) {
      times.node_startup!.push(await bareNode());
      for (const [name, command] of Object.entries(commands)) times[name]!.push((await timed(command.args, env, command.done)).ms);
    }
    const medians: Record<string, number> = {};
    for (const [name, values] of Object.entries(times)) {
      medians[`${name}_median_ms`] = median(values);
      log(`${name}: median ${median(values)} ms, min ${Math.round(Math.min(...values))} ms, max ${Math.round(Math.max(...values))} ms over ${runs} runs`);
    }
    process.stdout.write(`${JSON.stringify({ ...medians, runs, target_ms: 300, database: database ? 'DATABASE_URL' : 'embedded', cores: os.availableParallelism(), load_average_1m: Math.round(os.loadavg()[0]! * 100) / 100 })}\n`);
  } finally {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await once(serve, 'exit');
    }
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`bench:cli failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(1);
});
