/**
 * Evidence for /readyz that some worker is taking tasks: a worker in this process counts at
 * once; otherwise (`serve --no-worker`, workers on other machines) a row in `workers` whose
 * heartbeat has not expired. Workers refresh it every half heartbeat period even when idle, each
 * setting its own expiry, so an idle system with workers is ready and one with none is not.
 */
import type { Queryable } from '../../db/pool.ts';
import { liveWorkers } from '../../engine/index.ts';

export interface WorkerEvidence {
  ok: boolean;
  source: 'in_process' | 'heartbeat';
  detail: string;
  workers?: number;
}

export async function heartbeatWorkerEvidence(database: Queryable): Promise<WorkerEvidence> {
  const workers = await liveWorkers(database);
  if (workers.length === 0) {
    return { ok: false, source: 'heartbeat', detail: 'no worker has a current heartbeat: start one with `taskloom worker` (or `taskloom serve` without --no-worker)', workers: 0 };
  }
  return { ok: true, source: 'heartbeat', detail: `${workers.length} worker(s) with a current heartbeat`, workers: workers.length };
}
