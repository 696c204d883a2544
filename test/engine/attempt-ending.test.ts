import { expect, it } from 'vitest';
import { attemptEnding, needsDatabaseProbe } from '../../src/engine/attempt-ending.ts';

const attempt = { taskId: 'a5f0c2de-0000-4000-8000-000000000001', signal: new AbortController().signal, willRetry: true };
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

it('hands an attempt back for a bare socket error only when the database did not answer', () => {
  const refused = socketError('ECONNREFUSED');
  expect(needsDatabaseProbe(refused)).toBe(true);
  expect(attemptEnding(attempt, refused).kind).toBe('released');
  expect(attemptEnding({ ...attempt, databaseAnswered: false }, refused).kind).toBe('released');
  expect(attemptEnding({ ...attempt, databaseAnswered: true }, refused).kind).toBe('retry');
  const everyAddress = new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], 'connect failed');
  expect(needsDatabaseProbe(everyAddress)).toBe(true);
});

it('hands an attempt back for the driver\'s own connection errors, whatever a probe said', () => {
  const terminated = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  const ended = new Error('Connection terminated unexpectedly');
  for (const error of [terminated, ended]) {
    expect(needsDatabaseProbe(error)).toBe(false);
    expect(attemptEnding({ ...attempt, databaseAnswered: true }, error).kind).toBe('released');
  }
});
