/**
 * A local Brain service stand-in for tests, with the four endpoints the gather pipeline uses:
 * `POST /api/v1/nodes/batch`, `POST /api/v1/search/duplicates`, `GET /api/v1/context/department`
 * and `POST /api/v1/analyze/coverage`. Nodes are kept in memory; duplicate search is exact text
 * match (similarity 1). Every request is recorded; `down` makes every endpoint answer 503, and
 * `brokenBodies` makes it answer 200 and a part of a body, then reset the connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BrainServerNode {
  id: string;
  type: string;
  content: string;
  projectId: string;
  properties: Record<string, unknown>;
}

export interface BrainServer {
  baseUrl: string;
  nodes: BrainServerNode[];
  requests: Array<{ method: string; path: string; query: string; headers: http.IncomingHttpHeaders; body: unknown }>;
  /** While true, every request answers 503. */
  down: boolean;
  /** While true, every request answers 200 and half a JSON body, then the connection resets. */
  brokenBodies: boolean;
  /**
   * While set, `POST /api/v1/nodes/batch` waits for it to settle, then stores its nodes and answers,
   * unless the client gave up on the request meanwhile (then, like a server whose request was
   * aborted, it stores nothing). `indexWaiting` counts the requests waiting.
   */
  indexHeld?: Promise<void> | undefined;
  indexWaiting: number;
  close(): Promise<void>;
}

export async function startBrainServer(): Promise<BrainServer> {
  const state: BrainServer = { baseUrl: '', nodes: [], requests: [], down: false, brokenBodies: false, indexWaiting: 0, close: async () => {} };
  const send = (response: http.ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      let body: any;
      try {
        body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      state.requests.push({ method: request.method ?? 'GET', path: url.pathname, query: url.search, headers: request.headers, body });
      if (state.down) return send(response, 503, { error: 'brain is down' });
      if (state.brokenBodies) {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        response.write('{"duplicates": [');
        setTimeout(() => response.socket?.destroy(), 20);
        return;
      }
      if (request.method === 'POST' && url.pathname === '/api/v1/nodes/batch') {
        const nodes = Array.isArray(body?.nodes) ? body.nodes : [];
        if (nodes.length < 1 || nodes.length > 50) return send(response, 400, { error: '1-50 nodes per batch' });
        const store = (): void => {
          const created = nodes.map((node: Omit<BrainServerNode, 'id'>, index: number) => ({ id: `node-${state.nodes.length + index + 1}`, ...node }));
          state.nodes.push(...created);
          send(response, 201, { created: created.length, nodes: created.map((node: BrainServerNode) => ({ id: node.id })) });
        };
        if (!state.indexHeld) return store();
        state.indexWaiting += 1;
        let abandoned = false;
        response.on('close', () => {
          if (!response.writableEnded) abandoned = true;
        });
        return void state.indexHeld.then(() => {
          state.indexWaiting -= 1;
          if (!abandoned) store();
        });
      }
      if (request.method === 'POST' && url.pathname === '/api/v1/search/duplicates') {
        const matches = state.nodes.filter((node) => node.projectId === body?.projectId && node.content === body?.content);
        return send(response, 200, { duplicates: matches.map((node) => ({ id: node.id, content: node.content, similarity: 1 })) });
      }
      if (request.method === 'GET' && url.pathname === '/api/v1/context/department') {
        const projectId = url.searchParams.get('projectId');
        const previous = (url.searchParams.get('previousDepartments') ?? '').split(',').filter(Boolean);
        const nodes = state.nodes.filter((node) => node.projectId === projectId && previous.includes(String(node.properties.department)));
        return send(response, 200, { projectId, department: url.searchParams.get('department'), nodes: nodes.slice(-5).map((node) => ({ id: node.id, content: String(node.properties.summary ?? node.content), department: node.properties.department })) });
      }
      if (request.method === 'POST' && url.pathname === '/api/v1/analyze/coverage') {
        const count = state.nodes.filter((node) => node.projectId === body?.projectId && node.properties.department === body?.department).length;
        return send(response, 200, { coverage: Math.min(100, count * 5), gaps: count < 10 ? ['brain-gap-lighting'] : [], summary: `${count} nodes` });
      }
      send(response, 404, { error: `no route ${request.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.baseUrl = `http://127.0.0.1:${port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };
  return state;
}
