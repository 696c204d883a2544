/**
 * What happened to a task's webhooks: its cursor row and the most recent attempts.
 */
import type { Queryable } from '../../db/pool.ts';
import { isoTimestamp } from '../../db/sql.ts';

const iso = (column: string): string => `${isoTimestamp(column)} AS ${column}`;

export interface WebhookDeliveryRecord {
  task_id: string;
  url: string;
  state: 'active' | 'refused';
  delivered_event_id: number;
  latest_event_id: number;
  pending: boolean;
  attempts: number;
  delivered_count: number;
  dropped_count: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  recent_attempts: Array<{ event_id: number; attempt: number; outcome: string; status_code: number | null; error: string | null; duration_ms: number; created_at: string }>;
}

/** The task's delivery record, or undefined when nothing has been scheduled for it yet. */
export async function webhookDeliveryRecord(database: Queryable, taskId: string, tenant: string, attemptLimit = 50): Promise<WebhookDeliveryRecord | undefined> {
  const delivery = await database.query<Omit<WebhookDeliveryRecord, 'recent_attempts' | 'pending'>>(
    `SELECT task_id, url, state, delivered_event_id, latest_event_id, attempts, delivered_count, dropped_count, last_status, last_error,
       ${iso('last_attempt_at')}, ${iso('next_attempt_at')}
     FROM webhook_deliveries WHERE task_id = $1 AND tenant = $2`,
    [taskId, tenant],
  );
  const row = delivery.rows[0];
  if (!row) return undefined;
  const attempts = await database.query<WebhookDeliveryRecord['recent_attempts'][number]>(
    `SELECT event_id, attempt, outcome, status_code, error, duration_ms, ${iso('created_at')}
     FROM webhook_attempts WHERE task_id = $1 ORDER BY id DESC LIMIT $2`,
    [taskId, attemptLimit],
  );
  const pending = row.state === 'active' && row.delivered_event_id < row.latest_event_id;
  return { ...row, pending, next_attempt_at: pending ? row.next_attempt_at : null, recent_attempts: attempts.rows.reverse() };
}
