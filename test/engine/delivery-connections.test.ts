/**
 * A worker's delivery connections (delivery-connections.ts): borrowed from the engine's pool with
 * `deliverySettings`, and handed back with them reset. Their statements look rows up by key
 * whatever the planner's statistics say, and each is planned once per connection, so that the
 * first claims of a fresh worker are not each planned afresh. Checked on the plan itself (EXPLAIN
 * ANALYZE: rows read per table), not on a timing.
 */
import { escapeLiteral } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createPool, type Pool, type Queryable } from '../../src/db/pool.ts';
import { defineTask } from '../../src/engine/index.ts';
import { DeliveryConnections, deliverySettings } from '../../src/engine/delivery-connections.ts';
import { deliver, type Finish } from '../../src/engine/ready-queue.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine } from '../support/engine.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** The delivery settings' values on the connection `database` runs its statements on. */
async function settingsOn(database: Queryable): Promise<Record<string, string>> {
  const settings = await database.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])', [Object.keys(deliverySettings)]);
  return Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
}

it('plans the delivery statement once per connection, generic from its first execution', async () => {
  // One connection, so that every statement below runs on it.
  const pool = createPool(database.url, { max: 1 });
  const delivery = new DeliveryConnections(pool);
  try {
    const defaults = await settingsOn(pool);
    expect(defaults).not.toEqual(deliverySettings);
    expect(await settingsOn(delivery)).toEqual(deliverySettings);
    for (let round = 0; round < 3; round += 1) {
      const answer = await deliver(delivery, [], { queue: 'default', limit: 8, workerId: 'planning-probe', leaseSeconds: 30 });
      expect(answer).toEqual({ claimed: [], unclaimed: [], finished: [] });
    }
    const plans = await delivery.query('SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE name = $1', ['taskloom_deliver']);
    expect(plans.rows).toEqual([{ generic_plans: 3, custom_plans: 0 }]);
    // Handed back, the connection is as the pool's other users expect it, its statement still
    // prepared for the next worker that borrows it.
    await delivery.close();
    expect(await settingsOn(pool)).toEqual(defaults);
    expect((await pool.query('SELECT count(*)::int AS count FROM pg_prepared_statements WHERE name = $1', ['taskloom_deliver'])).rows).toEqual([{ count: 1 }]);
  } finally {
    await delivery.close();
    await pool.end();
  }
});

/** The server process a statement on `database` runs in. */
async function backendOf(database: Queryable, sleepSeconds = 0): Promise<number> {
  return (await database.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep($1)', [sleepSeconds])).rows[0]!.pid;
}

/** Runs `body` with delivery connections of `size` over a pool of its own of `max`, closing both after. */
async function withDelivery(max: number, size: number | undefined, body: (delivery: DeliveryConnections, pool: Pool) => Promise<void>): Promise<void> {
  const pool = createPool(database.url, { max });
  const delivery = new DeliveryConnections(pool, size);
  try {
    await body(delivery, pool);
  } finally {
    await delivery.close();
    await pool.end();
  }
}

it('runs at most three statements at once, a fourth waiting for one of their connections', async () => {
  await withDelivery(10, undefined, async (delivery, pool) => {
    const backends = await Promise.all(Array.from({ length: 4 }, () => backendOf(delivery, 0.1)));
    expect(new Set(backends).size).toBe(3);
    expect(pool.totalCount).toBe(3);
  });
});

it('keeps a connection through a statement the server refuses, and replaces one that is lost', async () => {
  await withDelivery(2, 1, async (delivery) => {
    const first = await backendOf(delivery);
    await expect(delivery.query('SELECT 1 / 0')).rejects.toThrow(/division by zero/);
    expect(await backendOf(delivery)).toBe(first);
    await database.pool.query('SELECT pg_terminate_backend($1)', [first]);
    // The lost connection goes as soon as the client hears of it, and the next statement
    // borrows another, with the settings set on it.
    const second = await eventually(async () => {
      const backend = await backendOf(delivery).catch(() => first);
      return backend === first ? undefined : backend;
    });
    expect(await settingsOn(delivery)).toEqual(deliverySettings);
    expect(second).not.toBe(first);
  });
});

it('closes once the statement running on it has ended, and hands every connection back reset', async () => {
  const pool = createPool(database.url, { max: 2 });
  const delivery = new DeliveryConnections(pool, 2);
  try {
    const running = backendOf(delivery, 0.2);
    await backendOf(delivery);
    const closed = delivery.close();
    expect(typeof (await running)).toBe('number');
    await closed;
    await expect(delivery.query('SELECT 1')).rejects.toThrow(/closed/);
    const clients = await Promise.all([pool.connect(), pool.connect()]);
    try {
      for (const client of clients) expect(await settingsOn(client)).not.toEqual(deliverySettings);
    } finally {
      for (const client of clients) client.release();
    }
  } finally {
    await pool.end();
  }
});

interface PlanNode { 'Relation Name'?: string; 'Node Type': string; 'Actual Rows': number; 'Actual Loops': number; Plans?: PlanNode[] }

/** The plan's nodes, depth first. */
function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** Rows each plan node read from `tables`, all loops together, by table. */
function rowsRead(node: PlanNode, tables: string[], read: Record<string, number> = {}): Record<string, number> {
  const table = node['Relation Name'];
  if (table && tables.includes(table) && node['Node Type'].includes('Scan')) read[table] = Math.max(read[table] ?? 0, node['Actual Rows'] * node['Actual Loops']);
  for (const child of node.Plans ?? []) rowsRead(child, tables, read);
  return read;
}

it('reads tasks and the queue by key with the statistics autovacuum keeps, not the whole tables', async () => {
  // 2,000 tasks queued, and statistics that say so: the delivery statement's generic estimate of
  // a claim is then a tenth of the queue, which once made it hash all of `tasks` per claim.
  const noop = defineTask({ type: 'plan_probe', description: 'does nothing', queue: 'default', input: z.object({}), run: async () => null });
  const engine = await startTestEngine(database, [noop]);
  const delivery = new DeliveryConnections(database.pool, 1);
  try {
    for (let batch = 0; batch < 20; batch += 1) await Promise.all(Array.from({ length: 100 }, () => engine.submit({ taskType: noop.type, input: {} })));
    await database.pool.query('ANALYZE tasks; ANALYZE task_queue; ANALYZE task_leases');
    const claim = { queue: 'default', limit: 50, workerId: 'plan-probe', leaseSeconds: 30 };
    const first = await deliver(delivery, [], claim);
    expect(first.claimed).toHaveLength(50);
    // The next statement as a worker sends it (its finishes and a claim), explained as it runs.
    const finishes: Finish[] = first.claimed.map(({ task }) => ({ taskId: task.id, lease: task.lease!, status: 'completed', result: null, error: null, durationMs: 1 }));
    let statement: { text: string; values: unknown[] } | undefined;
    const recorder = { query: async (config: { text: string; values: unknown[] }) => { statement = config; return { rows: [] }; } } as unknown as Pool;
    await deliver(recorder, finishes, claim);
    // Prepared on the delivery connection (one, so the EXECUTE finds it there), so that it runs
    // on the generic plan every execution of a worker's uses.
    await delivery.query(`PREPARE explained AS ${statement!.text}`);
    // EXECUTE takes its arguments as literals; arrays in PostgreSQL's text form.
    const literal = (value: unknown): string => {
      if (value === null || value === undefined) return 'NULL';
      const text = Array.isArray(value) ? `{${value.map((element) => (element === null ? 'NULL' : `"${String(element).replace(/[\\"]/g, '\\$&')}"`)).join(',')}}` : String(value);
      return escapeLiteral(text);
    };
    const explained = await delivery.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained(${statement!.values.map(literal).join(', ')})`);
    await delivery.query('DEALLOCATE explained');
    const read = rowsRead(explained.rows[0]!['QUERY PLAN'][0]!.Plan, ['tasks', 'task_queue']);
    // Each table is read a row per task the statement handles (50 finished, 50 claimed), give or
    // take the claim's walk past locked rows; a scan of the whole table reads 2,000.
    expect(read.tasks).toBeLessThanOrEqual(100);
    expect(read.task_queue).toBeLessThanOrEqual(100);
    // Nor is a CTE's or an unnest's result read again for each row of another: such a plan
    // compares every row of one with every row of the other.
    const rescanned = nodesOf(explained.rows[0]!['QUERY PLAN'][0]!.Plan).filter((node) => ['CTE Scan', 'Function Scan'].includes(node['Node Type']) && node['Actual Loops'] > 1);
    expect(rescanned.map((node) => `${node['Node Type']} x${node['Actual Loops']}`)).toEqual([]);
    expect((await database.pool.query("SELECT count(*)::int AS count FROM tasks WHERE status = 'completed'")).rows[0]).toEqual({ count: 50 });
  } finally {
    await delivery.close();
    await engine.stop();
  }
});
