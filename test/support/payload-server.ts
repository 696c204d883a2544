/**
 * A local Payload CMS stand-in for tests: `GET /api/departments` answers a Payload list
 * (`{docs, totalDocs, ...}`) filtered and sorted as the query asks, and records every request
 * (URL and headers) so tests can check the exact query string and authorization. Scripted
 * failures (a status, a body that is not JSON, a hang, 200 and a body that breaks off) are
 * consumed in order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type PayloadFailure = { kind: 'status'; status: number } | { kind: 'not-json' } | { kind: 'hang' } | { kind: 'broken-body' };

export interface PayloadServer {
  /** Base URL including `/api`, for PAYLOAD_API_URL. */
  baseUrl: string;
  requests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  departments: Array<Record<string, unknown>>;
  fail(...failures: PayloadFailure[]): void;
  close(): Promise<void>;
}

export async function startPayloadServer(departments: Array<Record<string, unknown>>): Promise<PayloadServer> {
  const failures: PayloadFailure[] = [];
  const requests: PayloadServer['requests'] = [];
  const state = { departments };
  const server = http.createServer((request, response) => {
    requests.push({ url: request.url ?? '', headers: request.headers });
    const url = new URL(request.url ?? '/', 'http://localhost');
    const failure = failures.shift();
    if (failure?.kind === 'hang') return;
    if (failure?.kind === 'status') {
      response.writeHead(failure.status, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ errors: [{ message: `scripted ${failure.status}` }] }));
    }
    if (failure?.kind === 'broken-body') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"docs": [');
      setTimeout(() => response.socket?.destroy(), 20);
      return;
    }
    if (failure?.kind === 'not-json') {
      response.writeHead(200, { 'content-type': 'text/html' });
      return response.end('<html>maintenance</html>');
    }
    if (url.pathname !== '/api/departments') {
      response.writeHead(404, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ errors: [{ message: 'not found' }] }));
    }
    let docs = [...state.departments];
    if (url.searchParams.get('where[gatherCheck][equals]') === 'true') docs = docs.filter((doc) => doc.gatherCheck === true);
    if (url.searchParams.get('where[isActive][equals]') === 'true') docs = docs.filter((doc) => doc.isActive === true);
    if (url.searchParams.get('sort') === 'codeDepNumber') docs.sort((left, right) => Number(left.codeDepNumber) - Number(right.codeDepNumber));
    const limit = Number(url.searchParams.get('limit') ?? 10);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ docs: docs.slice(0, limit), totalDocs: docs.length, limit, page: 1, totalPages: 1, hasNextPage: false, hasPrevPage: false }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    requests,
    get departments() {
      return state.departments;
    },
    set departments(value) {
      state.departments = value;
    },
    fail(...scripted) {
      failures.push(...scripted);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
