/**
 * API benchmark. Prints progress lines on stderr, then one JSON line last:
 * {"submit_rps","submit_p99_ms","ws_clients","fanout_p50_ms","fanout_p99_ms", ...details}
 *
 * - submit: POST /api/v1/tasks/submit over keep-alive HTTP from BENCH_SUBMIT_CONNECTIONS (16)
 *   connections for BENCH_SUBMIT_SECONDS (10), closed loop, against a server running an
 *   in-process worker (as `taskloom serve` does) that drains the `sleep {ms: 0}` tasks meanwhile.
 * - fan-out: BENCH_WS_CLIENTS (1000) WebSocket clients on one project stream; BENCH_EVENTS (200)
 *   events are committed one at a time, BENCH_EVENT_INTERVAL_MS (20) apart. Latency is from just
 *   before the event's COMMIT to each client's receipt, over every (client, event) pair.
 *
 * Load runs in worker threads so it does not share the server's event loop. Uses DATABASE_URL's
 * server when set, else an embedded PostgreSQL in a temporary folder; works in a fresh database
 * it drops afterwards. The whole run is bounded by BENCH_DEADLINE_SECONDS (180).
 */
import http from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { startApiServer } from '../src/api/index.ts';
import { createApiKey } from '../src/api/keys.ts';
import { loadConfig } from '../src/config.ts';
import { withTransaction } from '../src/db/pool.ts';
import { appendEvents, Engine } from '../src/engine/index.ts';
import { createLogger } from '../src/logger.ts';
import { sleepTask } from '../src/pipelines/builtin/sleep.ts';
import { openBenchDatabase } from './support/bench-database.ts';
import { log, percentile, round } from './support/statistics.ts';

const submitConnections = Number(process.env.BENCH_SUBMIT_CONNECTIONS ?? 16);
const submitSeconds = Number(process.env.BENCH_SUBMIT_SECONDS ?? 10);
const wsClients = Number(process.env.BENCH_WS_CLIENTS ?? 1000);
const eventCount = Number(process.env.BENCH_EVENTS ?? 200);
const eventIntervalMs = Number(process.env.BENCH_EVENT_INTERVAL_MS ?? 20);
const deadlineSeconds = Number(process.env.BENCH_DEADLINE_SECONDS ?? 180);

const now = (): number => performance.timeOrigin + performance.now();

type Job =
  | { kind: 'submit'; url: string; key: string; connections: number; seconds: number }
  | { kind: 'fanout'; url: string; key: string; clients: number; project: string };

// ---------------------------------------------------------------- load generators (threads)

async function submitLoad(job: Extract<Job, { kind: 'submit' }>): Promise<{ latencies: number[]; errors: number; elapsedMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const target = new URL('/api/v1/tasks/submit', job.url);
  const body = JSON.stringify({ project_id: 'bench-submit', task_type: 'sleep', task_data: { ms: 0 } });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + job.seconds * 1000;
  const post = (): Promise<number> => new Promise((resolve) => {
    const request = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': job.key } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(0));
    request.end(body);
  });
  await Promise.all(Array.from({ length: job.connections }, async () => {
    while (performance.now() < until) {
      const before = performance.now();
      const status = await post();
      if (status === 202) latencies.push(performance.now() - before);
      else errors += 1;
    }
  }));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { latencies, errors, elapsedMs };
}

async function fanoutClients(job: Extract<Job, { kind: 'fanout' }>): Promise<void> {
  const received = new Map<number, number[]>();
  const sockets: WebSocket[] = [];
  const url = `${job.url.replace('http', 'ws')}/ws/projects/${job.project}?api_key=${job.key}`;
  // Connect in batches so the handshakes do not all queue on the server at once.
  for (let index = 0; index < job.clients; index += 100) {
    await Promise.all(Array.from({ length: Math.min(100, job.clients - index) }, () => new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.on('open', () => resolve());
      socket.on('error', reject);
      socket.on('message', (data) => {
        const at = now();
        const { id } = JSON.parse(String(data)) as { id: number };
        let times = received.get(id);
        if (!times) {
          times = [];
          received.set(id, times);
        }
        times.push(at);
      });
      sockets.push(socket);
    })));
  }
  parentPort!.postMessage({ kind: 'ready' });
  const commits = await new Promise<Record<number, number>>((resolve) => parentPort!.once('message', (message: { commits: Record<number, number> }) => resolve(message.commits)));
  const ids = Object.keys(commits).map(Number);
  const expected = ids.length * job.clients;
  const waitUntil = Date.now() + 15_000;
  const count = (): number => ids.reduce((sum, id) => sum + (received.get(id)?.length ?? 0), 0);
  while (count() < expected && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 50));
  const latencies: number[] = [];
  for (const id of ids) for (const at of received.get(id) ?? []) latencies.push(at - commits[id]!);
  for (const socket of sockets) socket.terminate();
  parentPort!.postMessage({ kind: 'result', p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: Math.max(...latencies), received: latencies.length, expected });
}

if (!isMainThread) {
  const job = workerData as Job;
  if (job.kind === 'submit') parentPort!.postMessage(await submitLoad(job));
  else await fanoutClients(job);
}

// ---------------------------------------------------------------- the benchmark (main thread)

function runThread<Result>(job: Job, onMessage?: (message: any, thread: Worker) => void): { thread: Worker; done: Promise<Result> } {
  const thread = new Worker(new URL(import.meta.url), { workerData: job });
  const done = new Promise<Result>((resolve, reject) => {
    thread.on('message', (message: any) => {
      if (job.kind === 'submit' || message.kind === 'result') resolve(message as Result);
      else onMessage?.(message, thread);
    });
    thread.on('error', reject);
    thread.on('exit', (code) => reject(new Error(`load thread exited with code ${code}`)));
  });
  return { thread, done };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    log(`bench:api exceeded its ${deadlineSeconds} s deadline`);
    process.exit(2);
  }, deadlineSeconds * 1000);
  deadline.unref();

  const database = await openBenchDatabase({ name: 'bench-api', poolSize: 20 });
  const { pool } = database;
  const logger = createLogger('warn');
  let engine: Engine | undefined;
  let server: Awaited<ReturnType<typeof startApiServer>> | undefined;
  try {
    engine = await Engine.start({ url: database.url, pool, logger, taskTypes: [sleepTask], maintenance: false, schedules: false });
    await engine.startWorker({ concurrency: 8 });
    const config = loadConfig({ apiRateLimitPerMinute: 10_000_000 }, {});
    server = await startApiServer({ engine, config, logger, pool, host: '127.0.0.1', port: 0, webRoot: false });
    const key = (await createApiKey(pool, { tenant: 'bench' })).key;
    log(`server ${server.url}; database ${new URL(database.url).pathname.slice(1)}`);

    // Warm-up: JIT, pool connections, key cache.
    await runThread<{ latencies: number[] }>({ kind: 'submit', url: server.url, key, connections: 4, seconds: 1 }).done;

    log(`submit: ${submitConnections} connections for ${submitSeconds} s`);
    const submit = await runThread<{ latencies: number[]; errors: number; elapsedMs: number }>({ kind: 'submit', url: server.url, key, connections: submitConnections, seconds: submitSeconds }).done;
    const submitRps = submit.latencies.length / (submit.elapsedMs / 1000);
    log(`submit: ${submit.latencies.length} accepted, ${submit.errors} errors, ${round(submitRps)} req/s, p50 ${round(percentile(submit.latencies, 0.5))} ms, p99 ${round(percentile(submit.latencies, 0.99))} ms`);

    // Let the worker drain the backlog so the fan-out phase measures fan-out.
    const backlogUntil = Date.now() + 60_000;
    for (;;) {
      const waiting = await pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM tasks WHERE status IN ('queued', 'running', 'retrying')`);
      if (waiting.rows[0]!.count === 0 || Date.now() > backlogUntil) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const project = 'bench-fanout';
    const { task } = await engine.submit({ taskType: 'sleep', input: { ms: 0 }, tenant: 'bench', projectId: project });
    log(`fan-out: connecting ${wsClients} WebSocket clients`);
    let ready!: () => void;
    const clientsReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const fanout = runThread<{ p50: number; p99: number; max: number; received: number; expected: number }>(
      { kind: 'fanout', url: server.url, key, clients: wsClients, project },
      (message) => {
        if (message.kind === 'ready') ready();
      },
    );
    await clientsReady;
    // Clients replay the project's stored events first; give them a moment to settle.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    log(`fan-out: ${engine.events.subscriberCount} subscribers; committing ${eventCount} events, ${eventIntervalMs} ms apart`);
    const commits: Record<number, number> = {};
    for (let index = 0; index < eventCount; index += 1) {
      await withTransaction(pool, async (transaction) => {
        const [event] = await appendEvents(transaction, [{ taskId: task.id, tenant: 'bench', projectId: project, type: 'bench_tick', payload: { seq: index } }]);
        commits[event!.id] = now();
      });
      await new Promise((resolve) => setTimeout(resolve, eventIntervalMs));
    }
    fanout.thread.postMessage({ commits });
    const result = await fanout.done;
    await fanout.thread.terminate();
    log(`fan-out: ${result.received}/${result.expected} deliveries, p50 ${round(result.p50)} ms, p99 ${round(result.p99)} ms, max ${round(result.max)} ms`);

    process.stdout.write(`${JSON.stringify({
      submit_rps: round(submitRps),
      submit_p99_ms: round(percentile(submit.latencies, 0.99)),
      ws_clients: wsClients,
      fanout_p50_ms: round(result.p50),
      fanout_p99_ms: round(result.p99),
      submit_p50_ms: round(percentile(submit.latencies, 0.5)),
      submit_connections: submitConnections,
      submit_errors: submit.errors,
      fanout_events: eventCount,
      fanout_deliveries: result.received,
      fanout_expected: result.expected,
    })}\n`);
  } finally {
    await server?.close();
    await engine?.stop({ graceMs: 0 });
    await database.drop();
    clearTimeout(deadline);
  }
}

if (isMainThread) {
  main().catch((error: unknown) => {
    log(`bench:api failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  });
}
