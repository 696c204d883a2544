/**
 * A Settler is idle (settle.ts `idle`, what a stopping worker waits for before it closes its
 * delivery connections) only once nothing it owes is being written: its flush, and the finishes
 * it handed to a submit to carry (`carry`), until that submit reports back and the parents the
 * finishes may resume are resolved. Closing the connections before then left a parent to the
 * waitpoint sweep.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine } from '../../src/engine/index.ts';
import { DeliveryConnections } from '../../src/engine/delivery-connections.ts';
import { deliver } from '../../src/engine/ready-queue.ts';
import { Settler } from '../../src/engine/settle.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestEngine, testLogger } from '../support/engine.ts';

const quick = defineTask({
  type: 'settler_quick',
  description: 'returns at once',
  queue: 'default',
  input: z.object({}),
  async run() {
    return null;
  },
});

let database: TestDatabase;
let engine: Engine;

beforeAll(async () => {
  database = await createTestDatabase();
  engine = await startTestEngine(database, [quick]);
});

afterAll(async () => {
  await engine?.stop({ graceMs: 100 });
  await database?.drop();
});

/** Whether `promise` settles within the current turn of the event loop. */
async function settlesThisTurn(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
}

it('stays busy while a submit carries its finishes, and goes idle once the submit reports back', async () => {
  const delivery = new DeliveryConnections(database.pool, 1);
  try {
    for (const outcome of ['recorded', 'failed'] as const) {
      const { task } = await engine.submit({ taskType: quick.type, input: {} });
      const claim = await deliver(delivery, [], { queue: 'default', limit: 1, workerId: 'settler-test', leaseSeconds: 30 });
      const claimed = claim.claimed.map((row) => row.task);
      expect(claimed.map((row) => row.id)).toEqual([task.id]);

      const settler = new Settler({ pool: database.pool, delivery }, testLogger);
      // As a submit about to go out does (submit.ts): the outcome waits for it instead of a flush.
      settler.expectCarrier();
      const settled = settler.settle({ task: claimed[0]!, outcome: { kind: 'completed', result: { outcome } }, durationMs: 1 });
      const carried = settler.carry();
      expect(carried?.finishes.map((finish) => finish.taskId)).toEqual([task.id]);

      const idle = settler.idle();
      expect(await settlesThisTurn(idle)).toBe(false);
      if (outcome === 'recorded') {
        // The submit's statement committed with the finish in it.
        const written = await deliver(carried!.database, carried!.finishes);
        await carried!.recorded(written.finished);
      } else {
        // It failed: the finish goes back, and the Settler writes it itself.
        carried!.failed();
      }
      await idle;
      expect(await settled).toBe(true);
      expect((await engine.getTask(task.id)).status).toBe('completed');
    }
  } finally {
    await delivery.close();
  }
});
