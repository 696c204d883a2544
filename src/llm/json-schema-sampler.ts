/**
 * Builds a JSON value that satisfies a JSON Schema (draft-7 as the AI SDK sends it, plus the
 * 2020-12 keywords zod can emit): types, required properties, `enum`/`const`, `anyOf`/`oneOf`/
 * `allOf`, local `$ref`s, array `minItems`/`maxItems`/`uniqueItems`/tuples, string
 * `minLength`/`maxLength`/`format`, number bounds and `multipleOf`. Text comes from the
 * prompt's subject terms (offline-text.ts), chosen by the property name: `title` gets a title,
 * `content` a paragraph, `tags` single words, `*score*` a number derived from how many items the
 * prompt says exist. `pattern` is not interpreted: the formats below produce values their usual
 * patterns accept (zod adds patterns to email, uuid, date-time), any other pattern is not honoured.
 */
import type { JSONSchema7, JSONSchema7Definition } from '@ai-sdk/provider';
import { createRandom, hash32, type Random } from './deterministic-random.ts';
import { composeText, fitLength, type TextKind, type TextMaterial } from './offline-text.ts';

export interface SampleOptions {
  material: TextMaterial;
  /** Seed of this response: a hash of the whole prompt. */
  seed: string;
  /** How many items the prompt says exist; drives score-like numbers. */
  evidence: number;
  /** The count the prompt asks for ("generate 5 items"); used for the outermost array. */
  requestedCount?: number;
}

interface Walk {
  options: SampleOptions;
  root: JSONSchema7;
  requestedCountUsed: boolean;
}

const maxDepth = 12;

export function sampleJsonSchema(schema: JSONSchema7Definition, options: SampleOptions): unknown {
  const root: JSONSchema7 = typeof schema === 'boolean' ? {} : schema;
  const walk: Walk = { options, root, requestedCountUsed: false };
  return sample(walk, root, { path: '$', name: '', focus: 0, depth: 0 });
}

interface Position {
  path: string;
  /** The nearest property name (array items inherit their array's name). */
  name: string;
  /** Index of the enclosing array item: picks the lead subject term. */
  focus: number;
  depth: number;
}

function randomAt(walk: Walk, position: Position, salt = ''): Random {
  return createRandom(hash32(`${walk.options.seed}|${position.path}|${salt}`));
}

function resolveReference(walk: Walk, reference: string): JSONSchema7Definition {
  if (reference === '#') return walk.root;
  if (!reference.startsWith('#/')) return {};
  let node: unknown = walk.root;
  for (const part of reference.slice(2).split('/')) {
    const key = decodeURIComponent(part.replaceAll('~1', '/').replaceAll('~0', '~'));
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return (node as JSONSchema7Definition | undefined) ?? {};
}

/** Merges `allOf` members into one schema (properties and required lists combined). */
function mergeAllOf(walk: Walk, schema: JSONSchema7): JSONSchema7 {
  const { allOf, ...rest } = schema;
  let merged: JSONSchema7 = { ...rest };
  for (const member of allOf ?? []) {
    const part = typeof member === 'boolean' ? {} : member.$ref ? (resolveReference(walk, member.$ref) as JSONSchema7) : member;
    merged = {
      ...part,
      ...merged,
      properties: { ...(part.properties ?? {}), ...(merged.properties ?? {}) },
      required: [...new Set([...(part.required ?? []), ...(merged.required ?? [])])],
    };
  }
  return merged;
}

function isNullSchema(definition: JSONSchema7Definition): boolean {
  return typeof definition === 'object' && (definition.type === 'null' || (Array.isArray(definition.type) && definition.type.length === 1 && definition.type[0] === 'null'));
}

function sample(walk: Walk, definition: JSONSchema7Definition, position: Position): unknown {
  if (definition === false) return null;
  if (definition === true) return sampleString(walk, {}, position);
  let schema: JSONSchema7 = definition;
  if (schema.$ref) {
    const target = resolveReference(walk, schema.$ref);
    const { $ref: _ignored, ...siblings } = schema;
    schema = { ...(typeof target === 'boolean' ? {} : target), ...siblings };
  }
  if (schema.allOf) schema = mergeAllOf(walk, schema);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return randomAt(walk, position, 'enum').pick(schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) {
    // Prefer a real value over null; deep in recursive schemas prefer null to end the recursion.
    const concrete = alternatives.filter((alternative) => !isNullSchema(alternative));
    const nullable = concrete.length < alternatives.length;
    const { anyOf: _anyOf, oneOf: _oneOf, ...base } = schema;
    if (position.depth >= maxDepth - 2 && nullable) return null;
    const choice = concrete[0] ?? alternatives[0] as JSONSchema7Definition;
    return sample(walk, typeof choice === 'boolean' ? choice : { ...base, ...choice }, position);
  }
  const type = chooseType(schema);
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return randomAt(walk, position, 'boolean').next() < 0.5;
    case 'integer':
    case 'number':
      return sampleNumber(walk, schema, position, type === 'integer');
    case 'array':
      return sampleArray(walk, schema, position);
    case 'object':
      return sampleObject(walk, schema, position);
    default:
      return sampleString(walk, schema, position);
  }
}

function chooseType(schema: JSONSchema7): string {
  const declared = Array.isArray(schema.type) ? schema.type.find((type) => type !== 'null') ?? schema.type[0] : schema.type;
  if (declared) return declared;
  if (schema.properties || schema.additionalProperties !== undefined || schema.required) return 'object';
  if (schema.items !== undefined || (schema as { prefixItems?: unknown }).prefixItems !== undefined) return 'array';
  if (schema.minimum !== undefined || schema.maximum !== undefined) return 'number';
  return 'string';
}

function sampleObject(walk: Walk, schema: JSONSchema7, position: Position): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  const deep = position.depth >= maxDepth - 3;
  for (const [name, propertySchema] of Object.entries(schema.properties ?? {})) {
    // Optional properties are filled too (richer output), except deep in recursive schemas.
    if (deep && !required.has(name)) continue;
    result[name] = sample(walk, propertySchema, { path: `${position.path}.${name}`, name, focus: position.focus, depth: position.depth + 1 });
  }
  for (const name of required) {
    if (!(name in result)) result[name] = sampleString(walk, {}, { path: `${position.path}.${name}`, name, focus: position.focus, depth: position.depth + 1 });
  }
  // A record (`z.record`): additionalProperties with a schema and no fixed properties.
  const additional = schema.additionalProperties;
  if (schema.properties === undefined && additional !== undefined && additional !== false) {
    const minimum = schema.minProperties ?? 2;
    const maximum = Math.max(minimum, schema.maxProperties ?? Math.max(minimum, 3));
    const count = Math.min(maximum, Math.max(minimum, 2));
    const keys = walk.options.material.order.map((term) => term.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')).filter((key) => key.length > 0);
    for (let index = 0; Object.keys(result).length < count && index < count + keys.length + 10; index += 1) {
      const key = keys[index] ?? `key_${index + 1}`;
      if (key in result) continue;
      result[key] = sample(walk, additional === true ? {} : additional, { path: `${position.path}.${key}`, name: key, focus: position.focus + index, depth: position.depth + 1 });
    }
  }
  return result;
}

function sampleArray(walk: Walk, schema: JSONSchema7, position: Position): unknown[] {
  const tuple = Array.isArray(schema.items) ? schema.items : (schema as { prefixItems?: JSONSchema7Definition[] }).prefixItems;
  const itemSchema: JSONSchema7Definition = Array.isArray(schema.items) ? (schema.additionalItems ?? {}) : (schema.items ?? {});
  const minimum = Math.max(schema.minItems ?? 0, tuple?.length ?? 0);
  const closedTuple = tuple !== undefined && (itemSchema === false || (schema as { items?: unknown }).items === false);
  const requested = !walk.requestedCountUsed && walk.options.requestedCount !== undefined && tuple === undefined;
  // A free array with no maxItems is cut at 8, unless it is the one the prompt asked a count of:
  // "propose 40 words", answered into an array with no limit, got 8.
  const maximum = closedTuple ? (tuple?.length ?? 0) : (schema.maxItems ?? Math.max(minimum, requested ? walk.options.requestedCount! : 8));
  const random = randomAt(walk, position, 'length');
  let count: number;
  if (requested) {
    // The outermost free array takes the count the prompt asked for, within the bounds.
    walk.requestedCountUsed = true;
    count = walk.options.requestedCount!;
  } else if (position.depth >= maxDepth - 3) {
    count = minimum;
  } else {
    count = random.integer(Math.max(minimum, Math.min(3, maximum)), Math.max(minimum, Math.min(5, maximum)));
  }
  count = Math.min(maximum, Math.max(minimum, count));
  const items: unknown[] = [];
  const seen = new Set<string>();
  for (let index = 0; items.length < count && index < count * 6 + 10; index += 1) {
    const slot = items.length;
    const definition = tuple && slot < tuple.length ? (tuple[slot] as JSONSchema7Definition) : itemSchema;
    const value = sample(walk, definition, { path: `${position.path}[${index}]`, name: position.name, focus: position.focus + index, depth: position.depth + 1 });
    if (schema.uniqueItems) {
      const key = JSON.stringify(value);
      if (seen.has(key)) continue;
      seen.add(key);
    }
    items.push(value);
  }
  return items;
}

const scoreName = /score|quality|rating|coverage|depth|coherence|confidence|relevance|completeness|accuracy|clarity|readiness|progress/i;
const countName = /count|number|num_|total|quantity|iterations?|rounds?|amount|size|length|words|minutes|duration|priority|rank|order|index|position|level|difficulty|step/i;
const safeLimit = 1_000_000;

/**
 * Fraction in [0.35, 0.95) that grows with the existing item count: 0 items -> 0.35,
 * 5 -> 0.55, 10 -> 0.69, 20 -> 0.84, 40 -> 0.93. Quality-driven loops on the offline model
 * therefore improve as items accumulate and cross an 80% threshold after about 17 items.
 */
export function qualityFraction(evidence: number): number {
  return 0.35 + 0.6 * (1 - Math.exp(-Math.max(0, evidence) / 12));
}

function sampleNumber(walk: Walk, schema: JSONSchema7, position: Position, integer: boolean): number {
  const exclusiveMinimum = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const exclusiveMaximum = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  const step = schema.multipleOf && schema.multipleOf > 0 ? schema.multipleOf : integer ? 1 : 0;
  const epsilon = step > 0 ? step : 1e-6;
  let low = Math.max(schema.minimum ?? -Infinity, exclusiveMinimum === undefined ? -Infinity : exclusiveMinimum + (integer && step <= 1 ? 1 : epsilon));
  let high = Math.min(schema.maximum ?? Infinity, exclusiveMaximum === undefined ? Infinity : exclusiveMaximum - (integer && step <= 1 ? 1 : epsilon));
  if (integer) {
    low = Math.ceil(low);
    high = Math.floor(high);
  }
  const bounded = Number.isFinite(low) && Number.isFinite(high) && high - low <= safeLimit;
  const random = randomAt(walk, position, 'number');
  let value: number;
  if (scoreName.test(position.name)) {
    // Scores live on the schema's scale when it has one (0-1, 0-10, 0-100), else on 0-100.
    const scaleLow = bounded ? low : Number.isFinite(low) && low > -safeLimit ? low : 0;
    const scaleHigh = bounded ? high : scaleLow + (scaleLow >= 0 && scaleLow < 1 && !integer ? 1 : 100);
    // A small fixed offset per field name keeps sibling scores (coverage, depth) apart without
    // breaking monotonic growth with the evidence.
    const offset = ((hash32(position.name) % 7) - 3) / 100;
    const fraction = Math.min(0.99, Math.max(0, qualityFraction(walk.options.evidence) + offset));
    value = scaleLow + (scaleHigh - scaleLow) * fraction;
  } else {
    const defaultLow = countName.test(position.name) || integer ? 1 : 0;
    const defaultHigh = countName.test(position.name) || integer ? 10 : 100;
    const from = Number.isFinite(low) && low > -safeLimit ? Math.max(low, Math.min(defaultLow, Number.isFinite(high) ? high : defaultLow)) : Math.min(defaultLow, Number.isFinite(high) ? high : defaultLow);
    const to = Number.isFinite(high) && high < safeLimit ? Math.min(high, Math.max(from + (defaultHigh - defaultLow), from)) : from + (defaultHigh - defaultLow);
    value = from + (to - from) * random.next();
  }
  if (step > 0) {
    // multipleOf is relative to zero.
    value = Math.round(value / step) * step;
    if (value < low) value += step * Math.ceil((low - value) / step);
    if (value > high) value -= step * Math.ceil((value - high) / step);
    // Floating multiples (0.1) drift; fix the decimals to the step's.
    const decimals = (String(step).split('.')[1] ?? '').length;
    value = Number(value.toFixed(Math.min(decimals, 10)));
  } else {
    value = Math.round(value * 100) / 100;
  }
  if (integer) value = Math.round(value);
  if (Number.isFinite(low) && value < low) value = low;
  if (Number.isFinite(high) && value > high) value = high;
  return value;
}

function textKindFor(name: string): TextKind {
  const lower = name.toLowerCase();
  if (/^(?:title|name|heading|headline|label|subject|topic|caption|theme|question)s?$|_title$|title_|_name$|Name$/.test(name) || /title|headline|heading/.test(lower)) return 'title';
  if (/slug|^id$|_id$|key$|handle|username/.test(lower)) return 'slug';
  if (/aspect|gap|missing|area|subtopic|theme/.test(lower)) return 'title';
  if (/summary|description|excerpt|abstract|tldr|overview|synopsis|snippet|teaser|bio|intro/.test(lower)) return 'summary';
  if (/context|background|rationale|reason|why|purpose|relevance|motivation/.test(lower)) return 'context';
  if (/content|body|text|article|post|details|explanation|analysis|notes|paragraph|story|script|answer|insight|finding|research|report|draft|message|feedback|recommendation/.test(lower)) return 'content';
  if (/tags?$|keywords?|categor|hashtags?|genres?|skills?|terms?|words?|platform|tone|type|kind|style|mood|language|role|status|department|industry|sector|segment|channel/.test(lower)) return 'word';
  return 'sentence';
}

function formatted(format: string, walk: Walk, position: Position, random: Random): string | undefined {
  const slug = composeText('slug', walk.options.material, random, position.focus);
  const day = 1 + (hash32(`${walk.options.seed}${position.path}`) % 28);
  const month = 1 + (hash32(`${position.path}${walk.options.seed}`) % 12);
  const date = `2025-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  switch (format) {
    case 'email':
    case 'idn-email':
      return `${slug.replace(/-/g, '.').slice(0, 40) || 'contact'}@example.com`;
    case 'uri':
    case 'url':
    case 'iri':
      return `https://example.com/${slug}`;
    case 'uri-reference':
    case 'iri-reference':
      return `/${slug}`;
    case 'hostname':
    case 'idn-hostname':
      return `${slug.slice(0, 40) || 'host'}.example.com`;
    case 'date-time':
      return `${date}T${String(8 + (day % 10)).padStart(2, '0')}:${String((day * 7) % 60).padStart(2, '0')}:00Z`;
    case 'date':
      return date;
    case 'time':
      return `${String(8 + (day % 10)).padStart(2, '0')}:${String((day * 7) % 60).padStart(2, '0')}:00`;
    case 'duration':
      return `PT${day}M`;
    case 'uuid': {
      const hex = Array.from({ length: 4 }, (_, index) => hash32(`${walk.options.seed}${position.path}${index}`).toString(16).padStart(8, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Number.parseInt(hex[16] ?? '0', 16) % 4]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    }
    case 'ipv4':
      return `192.0.2.${day}`;
    case 'ipv6':
      return `2001:db8::${day.toString(16)}`;
    default:
      return undefined;
  }
}

function sampleString(walk: Walk, schema: JSONSchema7, position: Position): string {
  const random = randomAt(walk, position, 'string');
  const minimum = schema.minLength ?? 0;
  const maximum = schema.maxLength ?? Infinity;
  if (schema.format) {
    const value = formatted(schema.format, walk, position, random);
    if (value !== undefined) return value;
  }
  const kind = textKindFor(position.name);
  let text = composeText(kind, walk.options.material, random, position.focus);
  if (/hashtag/i.test(position.name)) text = `#${text.replace(/[^\p{L}\p{N}]+/gu, '')}`;
  return fitLength(text, minimum, Number.isFinite(maximum) ? maximum : Math.max(minimum, 4000), () => composeText(kind === 'word' || kind === 'slug' ? 'sentence' : kind === 'title' ? 'summary' : 'sentence', walk.options.material, random, position.focus + 1));
}
