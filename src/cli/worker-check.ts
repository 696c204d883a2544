/**
 * A submit from the command line only queues the task: some worker must run it. When no worker
 * anywhere has a fresh heartbeat, `--wait` would sit silently, so say so and how to fix it.
 */
import { liveWorkers, type Engine } from '../engine/index.ts';

export async function warnWhenNoWorker(engine: Engine): Promise<void> {
  const workers = await liveWorkers(engine.pool).catch(() => undefined);
  if (workers === undefined || workers.length > 0) return;
  process.stderr.write(
    'warning: no taskloom worker is running on this database, so the task stays queued until one starts.\n'
    + '  Start one in another terminal: `npx taskloom serve` (API + worker) or `npx taskloom worker`.\n',
  );
}
