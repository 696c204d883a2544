/**
 * GET /api/v1/event-types: the events every registered pipeline declares, with their payloads'
 * JSON Schema, behind the API key like every other route.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pipelines } from '../../src/pipelines/index.ts';
import { eventTypeRoutes, type EventType } from '../../src/pipelines/event-types-route.ts';
import { startApiHarness, type ApiHarness } from '../support/http.ts';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness({ worker: false, routePlugins: [eventTypeRoutes(pipelines)] });
});

afterAll(async () => {
  await harness?.close();
});

it('lists each pipeline\'s events with the JSON Schema of their payloads', async () => {
  const listed = await harness.request<{ event_types: EventType[] }>('GET', '/api/v1/event-types');
  expect(listed.status).toBe(200);
  const byName = new Map(listed.body.event_types.map((entry) => [`${entry.pipeline}/${entry.type}`, entry]));
  for (const pipeline of ['automated-gather', 'smart-metadata', 'learning', 'content']) {
    expect(listed.body.event_types.some((entry) => entry.pipeline === pipeline), pipeline).toBe(true);
  }
  const approval = byName.get('content/approval_decided')!.payload_schema as { type: string; properties: Record<string, unknown>; required: string[] };
  expect(approval.type).toBe('object');
  expect(approval.required).toEqual(expect.arrayContaining(['company_id', 'kind', 'id', 'decision', 'by', 'reason']));
  expect(approval.properties.decision).toMatchObject({ enum: ['approved', 'rejected'] });
});

it('answers 401 without a key, says so in the OpenAPI document, and 400 for a query it does not take', async () => {
  expect((await harness.request('GET', '/api/v1/event-types', { key: null })).status).toBe(401);
  const openapi = await harness.request('GET', '/openapi.json', { key: null });
  expect(openapi.body.paths['/api/v1/event-types'].get.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
  const unknown = await harness.request('GET', '/api/v1/event-types?pipeline=content');
  expect(unknown.status).toBe(400);
  expect(unknown.text).toContain('pipeline');
});
