/**
 * Unauthenticated operational routes: liveness, readiness, Prometheus metrics.
 */
import type { FastifyPluginAsync } from 'fastify';
import { migrationsApplied } from '../../db/index.ts';
import { metricsText } from '../../metrics.ts';
import type { ApiContext } from '../context.ts';
import { NotReadyError } from '../errors.ts';
import { heartbeatWorkerEvidence, type WorkerEvidence } from '../store/readiness.ts';

interface Check {
  ok: boolean;
  detail: string;
}

/** Readiness answers are reused this long, so frequent probes cost no more than one query set. */
const readinessCacheMs = 2000;

export function healthRoutes(context: ApiContext): FastifyPluginAsync {
  let cached: { at: number; checks: Record<string, Check | WorkerEvidence>; ok: boolean } | undefined;

  const check = async (): Promise<{ checks: Record<string, Check | WorkerEvidence>; ok: boolean }> => {
    if (cached && Date.now() - cached.at < readinessCacheMs) return cached;
    const checks: Record<string, Check | WorkerEvidence> = {};
    try {
      await context.pool.query('SELECT 1');
      checks.database = { ok: true, detail: 'reachable' };
    } catch (error) {
      // The code only (ECONNREFUSED, 57P01): the message names internal hosts and ports, and
      // this route needs no key.
      const code = (error as { code?: unknown }).code;
      checks.database = { ok: false, detail: typeof code === 'string' ? `unreachable (${code})` : 'unreachable' };
    }
    if (checks.database.ok) {
      const applied = await migrationsApplied(context.pool, context.migrations).catch(() => undefined);
      checks.migrations = applied === undefined
        ? { ok: false, detail: 'could not be read (the database went away)' }
        : { ok: applied, detail: applied ? 'every migration is applied' : 'migrations are pending (run `taskloom migrate`)' };
      const running = [...context.engine.workers];
      if (running.length > 0) {
        checks.worker = { ok: true, source: 'in_process', detail: `${running.length} worker(s) running in this process` };
      } else {
        checks.worker = await heartbeatWorkerEvidence(context.pool)
          .catch(() => ({ ok: false, source: 'heartbeat' as const, detail: 'could not read worker heartbeats (the database went away)' }));
      }
    } else {
      checks.migrations = { ok: false, detail: 'database unreachable' };
      checks.worker = { ok: false, detail: 'database unreachable' };
    }
    const ok = Object.values(checks).every((entry) => entry.ok);
    cached = { at: Date.now(), checks, ok };
    return cached;
  };

  return async (app) => {
    app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

    app.get('/readyz', {
      schema: { tags: ['operations'], summary: 'Database reachable, migrations applied, a worker taking tasks (503 otherwise)' },
    }, async () => {
      const result = await check();
      if (!result.ok) throw new NotReadyError(result.checks);
      return { status: 'ready', checks: result.checks };
    });

    app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (default registry)' } }, async (_request, reply) => {
      const { contentType, body } = await metricsText();
      reply.header('content-type', contentType);
      return body;
    });
  };
}
