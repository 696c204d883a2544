/**
 * The least each server costs on this machine, measured in the benchmark's own run: what the
 * engines' figures are made of. A task's start waits for at least one durable commit, a worker's
 * start for new server connections, a BullMQ job's for Redis round trips. Machines differ most in
 * these: the same engine code drained at 1.19-1.26x BullMQ on one machine and at 0.69-0.97x on
 * one where a new PostgreSQL connection took 11-15 ms (docs/benchmarks.md, sixteenth and seventeenth
 * sessions). The floors beside a run's ratios tell how far the machine, not the code, moved them.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Pool } from '../../src/db/pool.ts';

/** Milliseconds of `work`, `count` times one after another. */
export async function timeEach(count: number, work: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const begin = performance.now();
    await work();
    times.push(performance.now() - begin);
  }
  return times;
}

export interface PostgresFloors {
  /** `SELECT 1` on an open connection. */
  roundTrip: number[];
  /** A one-row INSERT in autocommit, which waits for its WAL flush. */
  durableCommit: number[];
  /** Opening a connection (a new server process and its sign-in) and its first `SELECT 1`. */
  connection: number[];
}

/** The PostgreSQL floors at `url` (the database `pool` is on): `samples` of each, a tenth as many connections. */
export async function measurePostgresFloors(url: string, pool: Pool, samples: number): Promise<PostgresFloors> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const roundTrip = await timeEach(samples, () => client.query('SELECT 1'));
    await client.query('CREATE TABLE bench_floor (id integer)');
    const durableCommit = await timeEach(samples, () => pool.query('INSERT INTO bench_floor VALUES (1)'));
    await client.query('DROP TABLE bench_floor');
    // Timed to the first answer; closing it is not part of a start-up.
    const connection: number[] = [];
    for (let index = 0; index < Math.max(1, Math.round(samples / 10)); index += 1) {
      const fresh = new pg.Client({ connectionString: url });
      const begin = performance.now();
      try {
        await fresh.connect();
        await fresh.query('SELECT 1');
        connection.push(performance.now() - begin);
      } finally {
        await fresh.end();
      }
    }
    return { roundTrip, durableCommit, connection };
  } finally {
    await client.end();
  }
}

/** `PING` round trips to the Redis at `url`, on one connection. */
export async function measureRedisRoundTrip(url: string, samples: number): Promise<number[]> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    await client.ping();
    return await timeEach(samples, () => client.ping());
  } finally {
    client.disconnect();
  }
}
