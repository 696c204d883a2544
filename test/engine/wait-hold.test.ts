/**
 * Holding a children wait in the attempt (wait-hold.ts): a parent whose children end within the
 * hold goes on without parking; one whose children outlast it parks and resumes as before; a
 * worker with no slot to spare does not hold, and a stopping one does not wait for a hold.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Engine, type Settlement } from '../../src/engine/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startTestEngine, waitForTask } from '../support/engine.ts';
import { createSideEffectTables, testTaskTypes } from '../fixtures/task-types.ts';

/** A child on a queue of its own, so a worker can serve the parents and not their children. */
const scheduledChild = defineTask({
  type: 'test_hold_child',
  description: 'a child on the scheduled queue',
  queue: 'scheduled',
  input: z.object({ index: z.number().int() }),
  run: async (context) => ({ index: context.input.index }),
});
const parentOfScheduled = defineTask({
  type: 'test_hold_parent',
  description: 'waits for two children on the scheduled queue',
  queue: 'default',
  input: z.object({}),
  async run(context) {
    const outcomes = await context.submitAndWait('children', [0, 1].map((index) => ({ taskType: scheduledChild.type, input: { index } })));
    return { children: outcomes.map((outcome) => outcome.status) };
  },
});

let database: TestDatabase;
let engine: Engine;
/** Every outcome kind each task's attempts ended with, in order. */
let outcomes: Map<string, string[]>;

beforeEach(async () => {
  database = await createTestDatabase();
  await createSideEffectTables(database.pool);
  engine = await startTestEngine(database, [...testTaskTypes, scheduledChild, parentOfScheduled]);
  outcomes = new Map();
  engine.hooks.settled.add((settlements: Settlement[]) => {
    for (const { task, outcome } of settlements) outcomes.set(task.id, [...(outcomes.get(task.id) ?? []), outcome.kind]);
  });
});

afterEach(async () => {
  await engine?.stop({ graceMs: 500 });
  await database?.drop();
});

/**
 * A task's attempts' outcomes once its last one is recorded: the settled hook runs after the
 * settle commits, so a test that saw the task's final status may get there first.
 */
async function outcomesOf(taskId: string): Promise<string[]> {
  return eventually(async () => {
    const kinds = outcomes.get(taskId) ?? [];
    return ['completed', 'failed', 'cancelled', 'released'].includes(kinds.at(-1) ?? '') && kinds;
  });
}

async function eventTypes(taskId: string): Promise<Array<{ type: string; reason: unknown }>> {
  return (await engine.readEvents({ taskId })).map((event) => ({ type: event.type, reason: event.payload.reason }));
}

describe('holding a children wait', () => {
  it('goes on in the same attempt when the children end within the hold, without parking', async () => {
    await engine.startWorker({ concurrency: 8, pollIntervalMs: 200, childWaitHoldMs: 10_000 });
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 4, childMs: 150, failing: [2] } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ outcomes: [
      { status: 'completed', index: 0 }, { status: 'completed', index: 1 }, { status: 'failed', index: null }, { status: 'completed', index: 3 },
    ] });
    expect(done.attempts).toBe(1);
    expect(await outcomesOf(task.id)).toEqual(['completed']);
    const events = await eventTypes(task.id);
    expect(events.filter((event) => event.type === 'task_started')).toHaveLength(1);
    expect(events.some((event) => event.type === 'task_queued' && event.reason === 'resumed')).toBe(false);
    expect(events.map((event) => event.type)).toContain('waitpoint_completed');
  });

  it('parks when the children outlast the hold, and resumes once they end', async () => {
    await engine.startWorker({ concurrency: 8, pollIntervalMs: 200, childWaitHoldMs: 200 });
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 2, childMs: 1500 } });
    await waitForTask(engine, task.id, ['waiting']);
    const done = await waitForTask(engine, task.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(await outcomesOf(task.id)).toEqual(['waiting', 'completed']);
    const events = await eventTypes(task.id);
    expect(events.filter((event) => event.type === 'task_started')).toHaveLength(2);
    expect(events.some((event) => event.type === 'task_queued' && event.reason === 'resumed')).toBe(true);
  });

  it('parks at once on a worker with no slot to spare, so its children can run there', async () => {
    // One slot: a parent holding it would keep its own children waiting for the whole hold.
    await engine.startWorker({ concurrency: 1, pollIntervalMs: 200, childWaitHoldMs: 60_000 });
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 2, childMs: 50 } });
    const done = await waitForTask(engine, task.id, ['completed', 'failed'], 15_000);
    expect(done.status).toBe('completed');
    expect(await outcomesOf(task.id)).toEqual(['waiting', 'completed']);
  });

  it('lets at most half the slots hold waits, however many are free', async () => {
    // Four slots for the parents and none for their children: two parents hold, the third parks
    // although a slot is free.
    await engine.startWorker({ queues: ['default'], concurrency: 4, pollIntervalMs: 200, childWaitHoldMs: 600_000 });
    const parents = await Promise.all([0, 1, 2].map(() => engine.submit({ taskType: parentOfScheduled.type, input: {} })));
    const ids = parents.map(({ task }) => task.id);
    const statuses = await eventually(async () => {
      const now = await Promise.all(ids.map(async (id) => (await engine.getTask(id)).status));
      return now.filter((status) => status === 'waiting').length === 1 && (await engine.listChildren(ids[0]!)).length === 2 && now;
    });
    expect(statuses.filter((status) => status === 'running')).toHaveLength(2);
    // A worker for the children's queue: the holders go on, the parked one resumes.
    await engine.startWorker({ queues: ['scheduled'], concurrency: 4, pollIntervalMs: 200 });
    const done = await Promise.all(ids.map((id) => waitForTask(engine, id, ['completed', 'failed'])));
    expect(done.map((task) => task.result)).toEqual(ids.map(() => ({ children: ['completed', 'completed'] })));
    expect((await Promise.all(ids.map(async (id) => (await outcomesOf(id)).join(',')))).sort()).toEqual(['completed', 'completed', 'waiting,completed']);
  });

  it('stops holding when its worker stops: the stop does not wait for the hold', async () => {
    // A hold and a grace longer than the test's own timeout: a stop that waited for either would
    // fail the test by timing out.
    const worker = await engine.startWorker({ concurrency: 8, pollIntervalMs: 200, childWaitHoldMs: 600_000 });
    const { task } = await engine.submit({ taskType: 'test_fan_out', input: { count: 2, childMs: 600_000 } });
    const children = await waitForChildren(task.id, 2);
    await Promise.all(children.map((child) => waitForTask(engine, child, ['running'])));
    expect((await engine.getTask(task.id)).status).toBe('running');
    await worker.stop({ graceMs: 600_000 });
    // Handed back like any attempt a stop ends, its attempt given back; the next worker replays
    // it to its wait.
    expect(await outcomesOf(task.id)).toEqual(['released']);
    expect(await engine.getTask(task.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });
});

/** The ids of a parent's children once `count` of them exist. */
async function waitForChildren(parentId: string, count: number): Promise<string[]> {
  return eventually(async () => {
    const children = await engine.listChildren(parentId);
    return children.length >= count && children.map((child) => child.id);
  });
}
