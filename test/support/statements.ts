/**
 * Which prepared statements the engine sends: every connection of this process is watched, and
 * each named statement counted, while `during` runs.
 */
import pg from 'pg';

export async function countStatements(during: () => Promise<void>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(this: pg.Client, ...parameters: unknown[]): unknown {
    const name = (parameters[0] as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string') counts.set(name, (counts.get(name) ?? 0) + 1);
    return (original as (...values: unknown[]) => unknown).apply(this, parameters);
  } as typeof original;
  try {
    await during();
  } finally {
    pg.Client.prototype.query = original;
  }
  return counts;
}
