/**
 * The notification connection when PostgreSQL starts shutting down just as it accepts it: the
 * server's "ready" and its FATAL "terminating connection due to administrator command" arrive
 * in one packet. pg emits that error before the code awaiting `connect()` resumes, so a listener
 * attached after the await is too late and Node exits on an unhandled 'error' event. Seen once
 * in a worker process during test/faults/postgres-restart.test.ts; reproduced here on a server
 * that answers every connection that way.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { NotificationListener } from '../../src/engine/listener.ts';
import { eventually, testLogger } from '../support/engine.ts';

/** One backend message: type byte, length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const authenticationOk = message('R', Buffer.from([0, 0, 0, 0]));
const readyForQuery = message('Z', Buffer.from('I'));
const terminating = message('E', Buffer.concat([
  ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', '57P01'], ['M', 'terminating connection due to administrator command']]
    .map(([field, value]) => Buffer.from(`${field}${value}\0`)),
  Buffer.from([0]),
]));

let server: net.Server | undefined;
let listener: NotificationListener | undefined;

afterEach(async () => {
  await listener?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

it('survives a server that sends its shutdown error in the packet that accepts the connection, and keeps retrying', async () => {
  let connections = 0;
  server = net.createServer((socket) => {
    connections += 1;
    // The startup message is all a client sends before the server answers.
    socket.once('data', () => {
      socket.end(Buffer.concat([authenticationOk, readyForQuery, terminating]));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  const crashes: unknown[] = [];
  const onUncaught = (error: unknown): void => { crashes.push(error); };
  process.on('uncaughtException', onUncaught);
  try {
    listener = new NotificationListener(`postgres://taskloom@127.0.0.1:${port}/taskloom`, testLogger);
    void listener.start();
    // It tries again after each failure (100 ms, then 200 ms, ...): a third connection means it
    // got through two of them without taking the process down.
    await eventually(async () => connections >= 3, 10_000);
    expect(crashes).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
