/**
 * TASKLOOM_METADATA_RPM across every back-fill run and process (`project_meta_request_starts`).
 * Overlapping runs (the operator's all-tenants run and a tenant's own) share the provider's quota,
 * so a window kept in each run's memory let two runs start twice the limit between them.
 *
 * A reservation is one short transaction, serialised by an advisory lock: read the starts still
 * in the window, ask `MinuteWindow` how long a new one would wait, and record it if it need not.
 * Nothing is held across the model call. The rows are the record, so a run resumed after a crash
 * finds the requests it made before it, and a crash does not buy a fresh burst.
 */
import { withTransaction, type Pool } from '../../kit/index.ts';
import { MinuteWindow } from './minute-window.ts';

export type RequestReservation =
  /** The request may start now; recorded as started at `startedAt` (epoch ms, the database's clock). */
  | { reserved: true; startedAt: number }
  /** The window is full: try again in `waitMs`. Nothing was recorded. */
  | { reserved: false; waitMs: number };

/** Reserves one back-fill model request, or says how long until one fits. */
export async function reserveModelRequest(pool: Pool, request: { tenant: string; taskId: string; perMinute: number; windowMs: number }): Promise<RequestReservation> {
  return withTransaction(pool, async (transaction) => {
    await transaction.query(`SELECT pg_advisory_xact_lock(hashtextextended('smart-metadata:request-window', 0))`);
    const clock = await transaction.query<{ now: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`);
    const now = clock.rows[0]!.now;
    await transaction.query(`DELETE FROM project_meta_request_starts WHERE started_at <= to_timestamp($1 / 1000.0)`, [now - request.windowMs]);
    const starts = await transaction.query<{ at: number }>(`SELECT (extract(epoch FROM started_at) * 1000)::float8 AS at FROM project_meta_request_starts`);
    const window = new MinuteWindow(request.perMinute, request.windowMs);
    for (const start of starts.rows) window.record(start.at);
    const waitMs = window.waitMs(now);
    if (waitMs > 0) return { reserved: false, waitMs };
    await transaction.query(`INSERT INTO project_meta_request_starts (tenant, task_id, started_at) VALUES ($1, $2, to_timestamp($3 / 1000.0))`, [request.tenant, request.taskId, now]);
    return { reserved: true, startedAt: now };
  });
}
