/**
 * Delivery: the narrow tables `task_queue` (tasks ready or due to run) and `task_leases` (running
 * attempts), decision 0008. `tasks` is the record users read; these two hold only what a claim
 * needs and are inserted into and deleted from, never updated.
 *
 * A claim is one statement in autocommit: it picks ready rows (`FOR UPDATE SKIP LOCKED`), inserts
 * their leases, deletes them from the queue, marks their tasks running and writes their
 * `task_started` events. The worker starts handlers only when that statement has returned, that is
 * after its commit, so a task never runs on a claim that could still roll back.
 *
 * Lock order: a claim locks queue rows, then task rows. Whoever holds a task row (cancel, a
 * waitpoint's resolution) therefore never waits for a queue row: it removes one only if no claim
 * holds it (`SKIP LOCKED`), and a claim that holds it finds the task no longer runnable.
 */
import type { Queryable } from '../db/pool.ts';
import { manyRows, oneRow, type RowSource } from '../db/sql.ts';
import { eventsInsert, eventsNotified } from './event-log.ts';
import { taskColumnsOf, type TaskRecord } from './task-store.ts';

/** NOTIFY channel, payload the queue name: work became ready there (a submit, a requeue, a freed key). */
export const readyChannel = 'taskloom_ready';

/** A task the queue can hold: what decides where and when it is claimed. */
export interface Deliverable {
  id: string;
  tenant: string;
  task_type: string;
  queue: string;
  priority: number;
  concurrency_key: string | null;
}

/** The key `task_leases` keeps unique: tasks of one type sharing a key run one at a time, per tenant. */
export function leaseKey(task: Pick<Deliverable, 'tenant' | 'task_type' | 'concurrency_key'>): string | null {
  return task.concurrency_key === null ? null : `${task.tenant}:${task.task_type}:${task.concurrency_key}`;
}

/** Notifies workers of these queues when the transaction commits (duplicates collapse into one). */
export function readyNotified(queuesSql: string): string {
  return `(SELECT count(pg_notify('${readyChannel}', ready.queue)) FROM (SELECT DISTINCT queue FROM ${queuesSql}) AS ready)`;
}

/**
 * Queues tasks in the caller's transaction, due at `runAt` (now when absent). Workers of a queue
 * whose task is due now are woken at commit; later ones are found by their polling backstop.
 */
export async function enqueue(transaction: Queryable, tasks: Array<{ task: Deliverable; runAt?: Date }>): Promise<void> {
  if (tasks.length === 0) return;
  await transaction.query(
    `WITH queued AS (
       INSERT INTO task_queue (task_id, queue, priority, run_at, concurrency_key)
       SELECT id, queue, priority, coalesce(run_at, now()), concurrency_key
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[]) AS new (id, queue, priority, run_at, concurrency_key)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING queue, run_at
     )
     SELECT ${readyNotified('queued WHERE run_at <= now()')}`,
    [
      tasks.map(({ task }) => task.id),
      tasks.map(({ task }) => task.queue),
      tasks.map(({ task }) => task.priority),
      tasks.map(({ runAt }) => runAt ?? null),
      tasks.map(({ task }) => leaseKey(task)),
    ],
  );
}

/** Ends an attempt's lease (in the transaction that records how it ended); wakes its key's queue. */
export async function releaseLeases(transaction: Queryable, leases: Array<{ taskId: string; lease: string | null }>): Promise<void> {
  if (leases.length === 0) return;
  await transaction.query(
    `WITH released AS (
       -- By key, as a finish's (see \`finishing\`): joined, a plan made while the leases were few
       -- walks every lease for each of these.
       DELETE FROM task_leases l WHERE l.task_id = ANY($1::uuid[]) AND l.lease = ANY($2::uuid[])
       RETURNING l.concurrency_key, (SELECT queue FROM tasks WHERE id = l.task_id) AS queue
     )
     SELECT ${readyNotified('released WHERE concurrency_key IS NOT NULL')}`,
    [leases.map((lease) => lease.taskId), leases.map((lease) => lease.lease)],
  );
}

/**
 * Removes a task's queue row unless a claim holds it (cancel, with the task row locked): that
 * claim then finds the task no longer runnable and removes the row itself.
 */
export async function dequeueUnlessClaimed(transaction: Queryable, taskId: string): Promise<void> {
  await transaction.query('DELETE FROM task_queue WHERE task_id = (SELECT task_id FROM task_queue WHERE task_id = $1 FOR UPDATE SKIP LOCKED)', [taskId]);
}

export interface ClaimedTask {
  task: TaskRecord;
  /** No attempt ever started before this one, so it has no checkpoints to load. */
  firstRun: boolean;
}

export interface ClaimResult {
  /** Tasks now running under this worker's leases (attempts may exceed max_attempts: see worker). */
  claimed: ClaimedTask[];
  /** Leased rows whose task was no longer runnable (cancelled meanwhile): their leases to drop. */
  unclaimed: Array<{ taskId: string; lease: string }>;
}

/**
 * An attempt that ended, as the delivery statement records it (JSON already serialized). Its
 * `task_<status>` event's payload is built by the statement from these, so a result travels and
 * is parsed once, not once for the task and again inside the event.
 */
export interface Finish {
  taskId: string;
  lease: string | null;
  status: 'completed' | 'cancelled' | 'failed';
  result: string | null;
  error: string | null;
  /** How long the handler ran, for a completed attempt's event. */
  durationMs: number;
}

export interface ClaimRequest {
  queue: string;
  limit: number;
  workerId: string;
  /** How long the leases live unless the worker extends them (its heartbeat window). */
  leaseSeconds: number;
}

/** A task whose attempt's end a statement recorded, with the parent it may resume. */
export interface Finished {
  id: string;
  parent_task_id: string | null;
}

export interface DeliveryResult extends ClaimResult {
  /** The finishes whose lease still held their task, with the parent each may resume. */
  finished: Finished[];
}

/**
 * The rows of CTE `cte` as an unnest of one array per column (aligned: each sorted by the first
 * column), under `alias`, for a statement that joins them with a table. The planner counts an
 * unnest as ten rows and probes the table's index for each; joined to a CTE whose size it guessed
 * from `LIMIT $n` (a tenth of the queue), it hashed all of `tasks` in each statement. With the
 * statistics autovacuum keeps, 50,000 queued among 100,000 stored, a delivery statement of 90
 * tasks took 65-75 ms that way, against 5-7 ms (docs/benchmarks.md, "Plans on analyzed tables").
 */
function unnestedRows(cte: string, columns: string[], alias: string): string {
  const arrays = columns.map((column) => `(SELECT array_agg(${column} ORDER BY ${columns[0]}) FROM ${cte})`);
  return `unnest(${arrays.join(', ')}) AS ${alias} (${columns.join(', ')})`;
}

/**
 * The finish part of a statement that records attempts that ended (the delivery statement below,
 * and a submit carrying its process's finishes, submit.ts), reading them from parameters `$first`
 * to `$first + 5` (`finishingValues`, for many or, with `oneRow`, one): each task's final state
 * (fenced by its lease), its lease released, its unresolved waits cancelled, and its event. CTEs
 * `finished` (the tasks whose lease still held them) and `released` (with each lease's
 * concurrency key) are for the rest of the statement to read; leave `ended`, the events, unread,
 * so that PostgreSQL writes them last.
 *
 * The results and errors come as one JSON array each, read by position, not as `jsonb[]`
 * parameters: a result went into an array element, which node-postgres escaped character by
 * character and PostgreSQL parsed twice, as an array and then as JSON (a tenth of the server's CPU
 * in a drain of tasks returning 8 kB). Drains of 5,000 such tasks, six alternating pairs: 4,081
 * -> 5,726 tasks/s (means, six of six); of no-op tasks, four pairs of 10,000: 10,747 -> 11,179,
 * within the noise (docs/benchmarks.md, fifteenth session). The other columns stay arrays, whose
 * unnest the planner counts as a few rows: a JSON record set (`jsonb_to_recordset`) counts as a
 * hundred, and the plan then hashed them and walked all of `tasks` to join them.
 */
export function finishing(first: number, source: RowSource = manyRows): string {
  const parameter = (offset: number): string => `$${first + offset}`;
  const byPosition = (offset: number): string => `nullif(${parameter(offset)}::jsonb -> (f.position - 1)::int, 'null')`;
  // One finish (a submit beside an eager start carries the last task's) binds its own values.
  const finishes = source === oneRow
    ? `(VALUES (${parameter(0)}::uuid, ${parameter(1)}::uuid, ${parameter(2)}::text, ${parameter(5)}::float8, nullif(${parameter(3)}::jsonb, 'null'), nullif(${parameter(4)}::jsonb, 'null'))) AS o (id, lease, status, duration_ms, result, error)`
    : `(SELECT f.id, f.lease, f.status, f.duration_ms, ${byPosition(3)} AS result, ${byPosition(4)} AS error
         FROM unnest(${parameter(0)}::uuid[], ${parameter(1)}::uuid[], ${parameter(2)}::text[], ${parameter(5)}::float8[]) WITH ORDINALITY AS f (id, lease, status, duration_ms, position)) AS o`;
  return `finished AS (
       UPDATE tasks t SET status = o.status, result = o.result, error = o.error, completed_at = now(), updated_at = now(), lease = NULL,
         progress = CASE WHEN o.status = 'completed' THEN 100 ELSE t.progress END
       FROM ${finishes}
       WHERE t.id = o.id AND t.lease = o.lease
       RETURNING t.id, t.tenant, t.project_id, t.queue, t.parent_task_id, o.lease, o.status,
         CASE o.status
           WHEN 'completed' THEN jsonb_build_object('result', coalesce(o.result, 'null'), 'duration_ms', o.duration_ms, 'attempt', t.attempts)
           WHEN 'cancelled' THEN jsonb_build_object('result', coalesce(o.result, 'null'), 'previous_state', 'running', 'attempt', t.attempts)
           ELSE jsonb_build_object('error', o.error, 'attempt', t.attempts)
         END AS payload
     ), released AS (
       -- By key, not joined: planned while the leases were few, a join walked every lease for
       -- each finish. A lease is a random id of one attempt, so the two lists fence as pairs.
       DELETE FROM task_leases l
       WHERE l.task_id = ANY(ARRAY(SELECT id FROM finished)) AND l.lease = ANY(ARRAY(SELECT lease FROM finished))
       RETURNING CASE WHEN l.concurrency_key IS NOT NULL THEN (SELECT queue FROM tasks WHERE id = l.task_id) END AS queue, l.concurrency_key
     ), dropped_waits AS (
       -- A task that ended takes its unresolved waits with it.
       UPDATE waitpoints w SET status = 'cancelled', completed_at = now() FROM finished WHERE w.task_id = finished.id AND w.status = 'pending'
     ), ended AS (
       ${eventsInsert(`SELECT id AS task_id, tenant, project_id, 'task_' || status AS type, payload FROM finished`)}
     )`;
}

/**
 * The finishes' answer, a one-row subquery for the FROM clause of a statement using `finishing`:
 * `outcome.finished`, the JSON list of the tasks whose attempt it recorded, with the parent each
 * may resume. Return it on one row only (`CASE WHEN row_number() OVER () = 1`): repeated on every
 * row of a claim, node-postgres parsed it once per claimed task, a quarter of the worker's CPU in
 * a drain (docs/benchmarks.md).
 */
export const finishedOutcome = `(SELECT coalesce(json_agg(json_build_object('id', id, 'parent_task_id', parent_task_id)), '[]') AS finished FROM finished) AS outcome`;

/**
 * The parameter values of `finishing`, in its order: the results and errors as JSON arrays, each
 * written in as the JSON it already is (a result that is JSON `null` is stored as SQL NULL, as is
 * none).
 */
export function finishingValues(finishes: readonly Finish[], source: RowSource = manyRows): unknown[] {
  const json = (pick: (finish: Finish) => string | null): string | null => (source === oneRow
    ? pick(finishes[0]!)
    : `[${finishes.map((finish) => pick(finish) ?? 'null').join(',')}]`);
  return [
    source.column(finishes, (finish) => finish.taskId), source.column(finishes, (finish) => finish.lease), source.column(finishes, (finish) => finish.status),
    json((finish) => finish.result), json((finish) => finish.error), source.column(finishes, (finish) => finish.durationMs),
  ];
}

/** What a statement using `finishing` returned: the list on whichever row carries it. */
export function finishedOf(rows: ReadonlyArray<{ finished?: Finished[] | null }>): Finished[] {
  return rows.find((row) => row.finished)?.finished ?? [];
}

/*
 * The delivery statement: records the attempts that ended, then claims up to `limit` ready tasks,
 * in one round trip and one commit. A worker's steady state is "these slots finished, fill them
 * again", and each commit holds the event-order lock through its WAL flush (decision 0003), so
 * one commit per cycle instead of two is what its drain rate is made of.
 *
 * Finish: see `finishing`; a released lease wakes the workers of its queue when it held a
 * concurrency key. Claim: ready rows locked in queue order (`SKIP LOCKED`), their leases inserted
 * (the unique key makes a second worker's claim of a taken concurrency key skip it), their queue
 * rows deleted, their tasks marked running and their `task_started` events written. The claim's
 * snapshot does not see this statement's own finishes, so a key released here is claimable from
 * the next one.
 *
 * Finishes of keyed tasks never travel with a claim (the Settler sends them alone): a statement
 * releasing key A and taking key B, beside another releasing B and taking A, would deadlock.
 *
 * Nothing reads `ended` and `started` (the NOTIFY is decided from `finished` and `claimed`), so
 * PostgreSQL writes the events after the rest of the statement and the event-order lock is held
 * for the commit, while another worker's or another claim's statement does the rest of its work.
 *
 * One row comes back per claimed task (one row with no task when nothing was claimed).
 */
const deliveryStatement = `WITH ${finishing(4)}, candidates AS (
       SELECT q.task_id, q.concurrency_key FROM task_queue q
       WHERE q.queue = $1 AND q.run_at <= now()
         AND (q.concurrency_key IS NULL OR NOT EXISTS (SELECT 1 FROM task_leases l WHERE l.concurrency_key = q.concurrency_key))
         -- Never true by construction (every requeue releases the lease first); if it were, the
         -- row would be skipped by the insert below and sit at the head of every claim. OFFSET 0
         -- keeps it a lookup per row: as an anti-join, planned while the leases were few, it
         -- compared every candidate with every lease.
         AND NOT EXISTS (SELECT 1 FROM task_leases l WHERE l.task_id = q.task_id OFFSET 0)
       ORDER BY q.priority DESC, q.run_at, q.task_id
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), leased_keyless AS (
       -- A plain insert: without a key a lease cannot conflict (this claim holds the task's queue
       -- row, and skips a task that has a lease), and ON CONFLICT would make it speculative.
       INSERT INTO task_leases (task_id, lease, worker_id, expires_at)
       SELECT task_id, gen_random_uuid(), $3, now() + make_interval(secs => $10) FROM candidates WHERE concurrency_key IS NULL
       RETURNING task_id, lease
     ), leased_keyed AS (
       -- A key taken by another worker's claim in flight: this insert waits for it, then skips.
       -- Every claim inserts keys in one order, so two claims never wait for each other.
       INSERT INTO task_leases (task_id, lease, worker_id, concurrency_key, expires_at)
       SELECT task_id, gen_random_uuid(), $3, concurrency_key, now() + make_interval(secs => $10) FROM candidates
       WHERE concurrency_key IS NOT NULL ORDER BY concurrency_key
       ON CONFLICT DO NOTHING
       RETURNING task_id, lease
     ), leased AS (
       SELECT task_id, lease FROM leased_keyless UNION ALL SELECT task_id, lease FROM leased_keyed
     ), dequeued AS (
       DELETE FROM task_queue q WHERE q.task_id = ANY(ARRAY(SELECT task_id FROM leased))
     ), claimed AS (
       UPDATE tasks t SET status = 'running', attempts = t.attempts + 1, started_at = coalesce(t.started_at, now()),
         lease = l.lease, worker_id = $3, next_attempt_at = NULL, updated_at = now()
       FROM ${unnestedRows('leased', ['task_id', 'lease'], 'l')}, tasks previous
       WHERE t.id = l.task_id AND previous.id = l.task_id
         AND t.status IN ('queued', 'retrying', 'running') AND t.cancel_requested_at IS NULL
       RETURNING ${taskColumnsOf('t')},
         previous.status AS previous_status, previous.started_at IS NULL AS first_run
     ), started AS (
       ${eventsInsert(`SELECT id AS task_id, tenant, project_id, 'task_started' AS type,
         jsonb_build_object('attempt', attempts, 'max_attempts', max_attempts, 'worker_id', $3::text, 'resumed', previous_status = 'running') AS payload
         FROM claimed WHERE attempts <= max_attempts`)}
     )
     SELECT CASE WHEN row_number() OVER () = 1 THEN outcome.finished END AS finished, leased.task_id AS leased_id, leased.lease AS leased_lease, claimed.*,
       ${eventsNotified('(SELECT id FROM finished UNION ALL SELECT id FROM claimed WHERE attempts <= max_attempts) AS announced')} AS notified_events,
       ${readyNotified('released WHERE concurrency_key IS NOT NULL')} AS notified_queues
     FROM ${finishedOutcome}
     LEFT JOIN (leased LEFT JOIN claimed ON claimed.id = leased.task_id) ON true`;

/**
 * Records `finishes` and claims as `claim` asks (nothing when absent), in one statement prepared
 * once per connection; see above. Run it on a worker's delivery connections
 * (delivery-connections.ts), whose settings its plan is made for.
 */
export async function deliver(database: Queryable, finishes: Finish[], claim?: ClaimRequest): Promise<DeliveryResult> {
  type Row = { finished: Finished[] | null; leased_id: string | null; leased_lease: string; previous_status: string | null; first_run: boolean; notified_events: unknown; notified_queues: unknown } & TaskRecord;
  const result = await database.query<Row>({
    name: 'taskloom_deliver',
    text: deliveryStatement,
    values: [
      claim?.queue ?? '', claim?.limit ?? 0, claim?.workerId ?? '', ...finishingValues(finishes), claim?.leaseSeconds ?? 0,
    ],
  });
  const claimed: ClaimedTask[] = [];
  const unclaimed: ClaimResult['unclaimed'] = [];
  for (const row of result.rows) {
    const { finished: _finished, leased_id: leasedId, leased_lease: lease, previous_status: _previous, first_run: firstRun, notified_events: _events, notified_queues: _queues, ...task } = row;
    if (leasedId === null) continue;
    if (task.id === null) unclaimed.push({ taskId: leasedId, lease });
    else claimed.push({ task, firstRun });
  }
  return { finished: finishedOf(result.rows), claimed, unclaimed };
}

/**
 * Which of `queues` hold a task that is due: a worker's polling backstop asks this once for the
 * queues whose last claim came back short, and claims again only those (a retry whose backoff
 * ended, work whose NOTIFY it missed). A claim per queue instead cost an idle worker of the six
 * built-in queues three delivery statements a second. Run on the delivery connections
 * (delivery-connections.ts), whose settings keep the lookup on `task_queue_ready` however stale
 * the table's statistics are.
 */
export async function queuesWithDueTasks<Queue extends string>(database: Queryable, queues: Queue[]): Promise<Queue[]> {
  if (queues.length === 0) return [];
  const result = await database.query<{ queue: Queue }>({
    name: 'taskloom_due_queues',
    text: `SELECT name AS queue FROM unnest($1::text[]) AS name
       WHERE EXISTS (SELECT 1 FROM task_queue q WHERE q.queue = name AND q.run_at <= now())`,
    values: [queues],
  });
  return result.rows.map((row) => row.queue);
}

/**
 * Keeps a worker's leases alive: the attempts it runs and those whose outcome it is still
 * recording. Called at every heartbeat.
 */
export async function extendLeases(database: Queryable, workerId: string, taskIds: string[], leaseSeconds: number): Promise<void> {
  if (taskIds.length === 0) return;
  await database.query(
    'UPDATE task_leases SET expires_at = now() + make_interval(secs => $3) WHERE worker_id = $1 AND task_id = ANY($2::uuid[])',
    [workerId, taskIds, leaseSeconds],
  );
}

/**
 * Extends the leases of tasks just claimed, each by its own lease id (another claim of this worker
 * may hold a newer lease of the same task), and answers the ids of the tasks whose lease held.
 */
export async function renewClaimedLeases(database: Queryable, workerId: string, claims: Array<{ taskId: string; lease: string }>, leaseSeconds: number): Promise<Set<string>> {
  if (claims.length === 0) return new Set();
  const renewed = await database.query<{ task_id: string }>(
    `UPDATE task_leases l SET expires_at = now() + make_interval(secs => $4)
     FROM unnest($2::uuid[], $3::uuid[]) AS claimed (task_id, lease)
     WHERE l.worker_id = $1 AND l.task_id = claimed.task_id AND l.lease = claimed.lease
     RETURNING l.task_id`,
    [workerId, claims.map((claim) => claim.taskId), claims.map((claim) => claim.lease), leaseSeconds],
  );
  return new Set(renewed.rows.map((row) => row.task_id));
}

/**
 * Hands expired leases back to the queue: their worker died, or never heard that its claim took
 * them (the answer was lost with the connection). Their tasks stay `running` with no lease until
 * a worker claims them again and resumes from the last checkpoint. Any worker runs this at its
 * polling backstop. Returns how many tasks were requeued.
 */
export async function recoverLostLeases(database: Queryable): Promise<number> {
  const result = await database.query<{ recovered: number }>(
    `WITH lapsed AS (
       DELETE FROM task_leases WHERE expires_at < now()
       RETURNING task_id, lease, concurrency_key
     ), reset AS (
       UPDATE tasks t SET lease = NULL, worker_id = NULL, updated_at = now()
       FROM lapsed WHERE t.id = lapsed.task_id AND t.lease = lapsed.lease AND t.status = 'running'
       RETURNING t.id, t.queue, t.priority, lapsed.concurrency_key
     ), queued AS (
       INSERT INTO task_queue (task_id, queue, priority, concurrency_key)
       SELECT id, queue, priority, concurrency_key FROM reset
       ON CONFLICT (task_id) DO NOTHING
       RETURNING queue
     )
     SELECT count(*)::int AS recovered, ${readyNotified('queued')} AS notified FROM queued`,
  );
  return result.rows[0]?.recovered ?? 0;
}
