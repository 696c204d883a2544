/**
 * REST client for the Brain service (BRAIN_SERVICE_BASE_URL, BRAIN_SERVICE_API_KEY as a bearer
 * token). Endpoints (seed 001):
 *
 * - `POST /api/v1/nodes/batch` `{nodes: [{type, content, projectId, properties}]}` (1-50 nodes)
 * - `POST /api/v1/search/duplicates` `{content, projectId, threshold, limit, type, department}`
 * - `GET  /api/v1/context/department?projectId=&department=&previousDepartments=a,b&limit=`
 * - `POST /api/v1/analyze/coverage` `{projectId, department, departmentName, description}`
 *
 * Answers are read leniently (the service's list key may be `nodes`, `results`, `duplicates` or
 * `matches`; a node's text `content`, `text` or `summary`), because only the fields used here
 * matter. Every failure is a DependencyError naming the Brain service, the endpoint and status,
 * and so is a failure answered with a 2xx: a body saying `error`, an empty body or one without
 * the list asked for (read as "no duplicates", "no context"), and context or a coverage summary
 * that is a failure's text (an error page, a stack trace, "Service Unavailable"), which went into
 * the generation prompt and from there into stored items. The gather reports each as
 * `brain_unavailable` and goes on without the Brain.
 *
 * The seed's requests carry a project id and no tenant, so the id sent is `tenantScoped`: another
 * tenant's gather with the same project id never reads, fills or deduplicates against this one's.
 */
import { DependencyError } from '../../errors.ts';
import { modelTalkIn } from '../../llm/model-talk.ts';
import type { Brain, BrainNode, CoverageAnalysis } from './types.ts';
import { tenantScoped } from '../tenant-scope.ts';

export interface BrainServiceOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** @default 10000 */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const brainBatchLimit = 50;

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * Text of a failure where context belongs, described; undefined for text that reads as context.
 * Only a text that is the failure counts: an error page, a stack trace, a failure's report
 * opening it ("Error 503: Service Unavailable"). A node about a runbook that retries on "status
 * 503", or documenting HTML, is context like any other.
 */
function failureIn(text: string): string | undefined {
  if (/^\s*<(?:!doctype|html)\b/i.test(text)) return 'an HTML page';
  if (/^\s*Traceback \(most recent call last\)/.test(text)) return 'a stack trace';
  const talk = modelTalkIn(text, { failureReports: 'opening' });
  return talk === undefined ? undefined : JSON.stringify(talk);
}

/** Throws when any of `texts` is a failure's text: the answer is no context. */
function refuseFailureText(what: string, texts: Array<string | null | undefined>): void {
  for (const text of texts) {
    const failure = text ? failureIn(text) : undefined;
    if (failure) throw new DependencyError('Brain service', `${what} answered a failure's text as content (${failure}): ${text!.slice(0, 200)}`, { retryable: false });
  }
}

/** The list under one of `keys`, or undefined when the answer holds none (no list is no answer). */
function listIn(body: unknown, keys: string[]): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  const record = asRecord(body);
  if (!record) return undefined;
  for (const key of keys) {
    if (Array.isArray(record[key])) return record[key] as unknown[];
  }
  for (const nested of ['data', 'context', 'result']) {
    const inner = listIn(record[nested], keys);
    if (inner) return inner;
  }
  return undefined;
}


/**
 * A node of a Brain answer. Without text it is no context and is left out, unless `idOnly`: a
 * duplicate match is a match whatever it carries. A score sent as text ("0.97") is read as its
 * number; one that is no number is left out (the match then stands on the service's threshold).
 */
function toNode(value: unknown, index: number, options: { idOnly?: boolean } = {}): BrainNode | undefined {
  const record = asRecord(value);
  if (!record) return typeof value === 'string' ? { id: `node-${index}`, content: value } : undefined;
  const properties = asRecord(record.properties) ?? {};
  const content = [record.content, record.text, record.summary, properties.content, properties.summary].find((candidate): candidate is string => typeof candidate === 'string' && candidate.length > 0);
  if (!content && !(options.idOnly && (record.id !== undefined || record._id !== undefined))) return undefined;
  const score = [record.similarity, record.score]
    .map((candidate) => (typeof candidate === 'string' && candidate.trim() !== '' ? Number(candidate) : candidate))
    .find((candidate): candidate is number => typeof candidate === 'number' && Number.isFinite(candidate));
  const department = [record.department, properties.department].find((candidate): candidate is string => typeof candidate === 'string');
  return { id: String(record.id ?? record._id ?? `node-${index}`), content: content ?? '', ...(department ? { department } : {}), ...(score === undefined ? {} : { score }) };
}

export function createBrainServiceClient(options: BrainServiceOptions): Brain {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const call = async (method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> => {
    const url = `${baseUrl}${path}`;
    const combined = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}`, 'x-api-key': options.apiKey } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new DependencyError('Brain service', `${method} ${path} failed: ${(error as Error).message}`, { details: { url }, cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // The answer broke off after its status line (the timeout, a reset): the call failed. Read
      // as an empty body it became an empty answer (no duplicates, no context), stored as such.
      throw new DependencyError('Brain service', `${method} ${path} answered ${response.status}, then its body broke off: ${(error as Error).message}`, {
        details: { url, status: response.status },
        cause: error,
      });
    }
    if (!response.ok) {
      throw new DependencyError('Brain service', `${method} ${path} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`, {
        details: { url, status: response.status },
        retryable: response.status === 429 || response.status >= 500,
      });
    }
    // Nothing to read is an answer only for a write (an index may answer 204 or an empty 200).
    if (text.length === 0) {
      if (method === 'POST' && path === '/api/v1/nodes/batch') return {};
      throw new DependencyError('Brain service', `${method} ${path} answered ${response.status} with an empty body`, { details: { url, status: response.status } });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      throw new DependencyError('Brain service', `${method} ${path} answered a body that is not JSON: ${text.slice(0, 200)}`, { details: { url, status: response.status } });
    }
    // A failure said in the body of a success.
    const record = asRecord(parsed);
    if (record && (record.error !== undefined && record.error !== null && record.error !== false || record.success === false || record.status === 'error' || record.status === 'failed')) {
      throw new DependencyError('Brain service', `${method} ${path} answered ${response.status} with an error: ${text.slice(0, 300)}`, { details: { url, status: response.status } });
    }
    return parsed;
  };

  return {
    kind: 'service',
    async departmentContext(request) {
      const query = new URLSearchParams({
        projectId: tenantScoped(request.tenant, request.projectId),
        department: request.department,
        previousDepartments: request.previousDepartments.join(','),
        limit: String(request.limit ?? 12),
      });
      const path = '/api/v1/context/department';
      const body = await call('GET', `${path}?${query.toString()}`, undefined, request.signal);
      const list = listIn(body, ['nodes', 'results', 'items', 'relevantNodes']);
      const nodes = (list ?? []).map((value, index) => toNode(value, index)).filter((node): node is BrainNode => node !== undefined);
      const record = asRecord(body);
      const summary = [record?.aggregatedSummary, record?.summary, asRecord(record?.context)?.summary].find((value): value is string => typeof value === 'string' && value.length > 0);
      if (list === undefined && summary === undefined) throw new DependencyError('Brain service', `GET ${path} answered neither nodes nor a summary: ${JSON.stringify(body).slice(0, 200)}`, { retryable: false });
      refuseFailureText(`GET ${path}`, [summary, ...nodes.map((node) => node.content)]);
      return summary ? [{ id: 'summary', content: summary }, ...nodes] : nodes;
    },
    async indexItems(scope, items, _transaction, signal) {
      let indexed = 0;
      for (let start = 0; start < items.length; start += brainBatchLimit) {
        const chunk = items.slice(start, start + brainBatchLimit);
        await call('POST', '/api/v1/nodes/batch', {
          nodes: chunk.map((item) => ({
            type: 'gather',
            content: item.content,
            projectId: tenantScoped(scope.tenant, scope.projectId),
            properties: { ...item.properties, gatherItemId: item.id, department: item.department, summary: item.summary, context: item.context },
          })),
        }, signal);
        indexed += chunk.length;
      }
      return { indexed };
    },
    async searchDuplicates(request) {
      const body = await call('POST', '/api/v1/search/duplicates', {
        content: request.content,
        projectId: tenantScoped(request.tenant, request.projectId),
        threshold: request.threshold,
        limit: request.limit ?? 5,
        type: request.type ?? 'gather',
        ...(request.department ? { department: request.department } : {}),
      }, request.signal);
      const list = listIn(body, ['duplicates', 'matches', 'results', 'nodes']);
      // No list is not "no duplicates": the items would be kept unchecked, said to be checked.
      if (list === undefined) throw new DependencyError('Brain service', `POST /api/v1/search/duplicates answered no list of matches: ${JSON.stringify(body).slice(0, 200)}`, { retryable: false });
      return list
        .map((value, index) => toNode(value, index, { idOnly: true }))
        .filter((node): node is BrainNode => node !== undefined && (node.score === undefined || node.score >= request.threshold));
    },
    async analyzeCoverage(request): Promise<CoverageAnalysis | null> {
      const body = asRecord(await call('POST', '/api/v1/analyze/coverage', {
        projectId: tenantScoped(request.tenant, request.projectId),
        department: request.department,
        departmentName: request.departmentName,
        description: request.description,
      }, request.signal)) ?? {};
      const coverageValue = [body.coverage, body.coverageScore, body.score].find((value): value is number => typeof value === 'number');
      const gapsValue = [body.gaps, body.missingAspects, body.missing].find((value): value is unknown[] => Array.isArray(value)) ?? [];
      const summary = [body.summary, body.analysis].find((value): value is string => typeof value === 'string' && value.length > 0);
      if (coverageValue !== undefined && !(coverageValue >= 0 && coverageValue <= 100)) {
        throw new DependencyError('Brain service', `POST /api/v1/analyze/coverage answered a coverage of ${coverageValue}, outside 0-100`, { retryable: false });
      }
      refuseFailureText('POST /api/v1/analyze/coverage', [summary, ...gapsValue.filter((gap): gap is string => typeof gap === 'string')]);
      return {
        coverage: coverageValue ?? null,
        gaps: gapsValue.filter((gap): gap is string => typeof gap === 'string').slice(0, 10),
        summary: summary ?? null,
      };
    },
  };
}
