/**
 * A worker's delivery connections (ready-queue.ts `deliverySettings`): their statements look rows
 * up by key whatever the planner's statistics say, and each is planned once per connection, so
 * that the first claims of a fresh worker are not each planned afresh.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.ts';
import { deliver, deliverySettings } from '../../src/engine/ready-queue.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

it('plans the delivery statement once per connection, generic from its first execution', async () => {
  // One connection, so that every statement below runs on it.
  const deliveryPool = createPool(database.url, { max: 1, settings: deliverySettings });
  try {
    const settings = await deliveryPool.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])', [Object.keys(deliverySettings)]);
    expect(Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]))).toEqual(deliverySettings);
    for (let round = 0; round < 3; round += 1) {
      const answer = await deliver(deliveryPool, [], { queue: 'default', limit: 8, workerId: 'planning-probe', leaseSeconds: 30 });
      expect(answer).toEqual({ claimed: [], unclaimed: [], finished: [] });
    }
    const plans = await deliveryPool.query('SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE name = $1', ['taskloom_deliver']);
    expect(plans.rows).toEqual([{ generic_plans: 3, custom_plans: 0 }]);
  } finally {
    await deliveryPool.end();
  }
});
