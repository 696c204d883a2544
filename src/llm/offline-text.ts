/**
 * Text for the offline model: titles, summaries and paragraphs assembled from the prompt's own
 * subject terms and phrases, arranged by seeded templates. Different prompts bring different
 * terms and seeds, so items differ; the same prompt always reads the same.
 */
import type { Random } from './deterministic-random.ts';
import type { SubjectTerms } from './subject-terms.ts';

/** Neutral aspects any subject has; they give sentences a second axis of variety. */
const facets = [
  'planning', 'budget', 'schedule', 'technique', 'workflow', 'constraints', 'audience', 'risks', 'standards', 'references',
  'equipment', 'roles', 'review', 'timing', 'tone', 'continuity', 'logistics', 'costs', 'quality bar', 'dependencies',
  'trade-offs', 'priorities', 'sources', 'history', 'practice', 'format', 'scope', 'materials', 'safety', 'documentation',
];

const sentenceTemplates = [
  '{A} depends on {B}: the {F} has to be settled before {C} moves forward.',
  'Treat {A} and {B} as one {F} question, because changes to either ripple into {C}.',
  'A useful reference for {A} is how {B} handles {F}, adapted to {C}.',
  'Record who owns {A}, which {F} applies to it and how it connects to {B}.',
  'When {A} meets {B}, the {F} usually decides whether {C} holds together.',
  'Check {A} against the {F} early; late fixes to {B} cost the most.',
  '{A} gives {B} its {F}, so keep notes on what worked with {C} and what did not.',
  'For {A}, agree on the {F} first, then make the choices about {B} and {C} that follow from it.',
  'The strongest take on {A} ties {B} to a clear {F} and a named owner for {C}.',
  'Open questions on {A}: the {F} of {B}, and how {C} affects the rest of the plan.',
  'Compare two options for {A}, one led by {B} and one led by {C}, judged on {F}.',
  'Keep a short checklist for {A} covering {F}, {B} and {C}.',
  'Most problems with {A} trace back to {F}; budget time for {B} before touching {C}.',
  '{A} works best when {B} and {C} share one {F} from the start.',
  'Document the {F} behind {A} so that later work on {B} does not undo it.',
  'Small tests of {A} with {B} reveal {F} issues long before {C} is locked.',
];

const summaryTemplates = [
  '{A} and {B}: {F} notes with a focus on {C}.',
  'How {A} shapes {B}, with attention to {F}.',
  'Key {F} for {A} in relation to {B} and {C}.',
  'A practical view of {A}: {F}, {B} and {C}.',
  'What {B} means for {A}, and where {F} matters most.',
  '{A} through the lens of {F}, drawing on {B}.',
];

const contextTemplates = [
  'Relevant when {F} for {A} is decided alongside {B}.',
  'Applies to {A} wherever {B} and {C} overlap.',
  'Background for {A}: it builds on {B} and sets the {F} for {C}.',
  'Use this while planning {A}; it links {B} to the {F}.',
];

const titleTemplates = ['{A} {F}', '{A} and {B}', '{F} of {A}', '{A} for {B}', '{A}: {F} and {C}', '{B} in {A}'];

/**
 * Every word the templates themselves contribute. When offline output is quoted back in a later
 * prompt ("existing items: ..."), these words must not become its subject. Facets are left out:
 * "budget" or "tone" may well be what a prompt is about.
 */
export const templateVocabulary: ReadonlySet<string> = new Set(
  [...sentenceTemplates, ...summaryTemplates, ...contextTemplates, ...titleTemplates]
    .join(' ')
    .toLowerCase()
    .replace(/\{[a-z]\}/g, ' ')
    .split(/[^a-z-]+/)
    .filter((word) => word.length >= 3),
);

export type TextKind = 'title' | 'summary' | 'content' | 'context' | 'sentence' | 'word' | 'slug';

/** The prompt-derived material one offline response draws from. */
export interface TextMaterial {
  subject: SubjectTerms;
  /** Subject terms in this response's seeded order; item `i` of an array leads with entry `i`. */
  order: string[];
  /**
   * Item `i` of an array is about facet `facetOffset + i`, in all its sentences: items of one
   * answer differ in what they say, not only in word order, as a real model's items do (and a
   * duplicate detector that reads meaning, offline:embedding, can tell them apart).
   */
  facetOffset: number;
}

const fallbackTerms = ['the subject', 'the brief', 'the plan'];

export function createTextMaterial(subject: SubjectTerms, random: Random): TextMaterial {
  // Phrases read better than single words; mix the two so items lead with different ones.
  const pool = [...subject.phrases.slice(0, 8), ...subject.terms.slice(0, 16)];
  const order = pool.length > 0 ? random.shuffle(pool) : [...fallbackTerms];
  return { subject, order, facetOffset: random.integer(0, facets.length - 1) };
}

function fill(template: string, material: TextMaterial, random: Random, focus: number, facetFocus = focus): string {
  const lead = material.order[focus % material.order.length] as string;
  const others = material.order.filter((term) => term !== lead && !term.includes(lead) && !lead.includes(term));
  const pickOther = (): string => (others.length > 0 ? random.pick(others) : random.pick(fallbackTerms));
  const second = pickOther();
  let third = pickOther();
  if (third === second && others.length > 1) third = pickOther();
  return template
    .replaceAll('{A}', lead)
    .replaceAll('{B}', second)
    .replaceAll('{C}', third)
    .replaceAll('{F}', facets[(material.facetOffset + facetFocus) % facets.length] as string);
}

function capitalise(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

function titleCase(text: string): string {
  return text
    .split(' ')
    .map((word, index) => (index > 0 && ['and', 'of', 'for', 'in', 'the'].includes(word) ? word : capitalise(word)))
    .join(' ');
}

/** One piece of text of the given kind; `focus` picks the lead term (the array index of an item). */
export function composeText(kind: TextKind, material: TextMaterial, random: Random, focus: number): string {
  switch (kind) {
    case 'title':
      return titleCase(fill(random.pick(titleTemplates), material, random, focus));
    case 'word':
      return (material.order[(focus + random.integer(0, 3)) % material.order.length] as string).toLowerCase();
    case 'slug':
      return (material.order[focus % material.order.length] as string).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'item';
    case 'summary':
      return capitalise(fill(random.pick(summaryTemplates), material, random, focus));
    case 'context':
      return capitalise(fill(random.pick(contextTemplates), material, random, focus));
    case 'sentence':
      return capitalise(fill(random.pick(sentenceTemplates), material, random, focus));
    case 'content': {
      const count = random.integer(3, 5);
      const templates = random.shuffle(sentenceTemplates).slice(0, count);
      // Every sentence leads with the item's own term and facet: one item, one topic.
      return templates.map((template) => capitalise(fill(template, material, random, focus))).join(' ');
    }
  }
}

/**
 * Fits text into [minLength, maxLength]: appends more sentences while too short, then cuts at a
 * word boundary when too long.
 */
export function fitLength(text: string, minLength: number, maxLength: number, more: () => string): string {
  let result = text;
  for (let guard = 0; result.length < minLength && guard < 200; guard += 1) result = `${result} ${more()}`.trim();
  while (result.length < minLength) result += '.';
  if (result.length > maxLength) {
    let cut = result.slice(0, maxLength);
    const space = cut.lastIndexOf(' ');
    if (space >= Math.max(minLength, 1) && space > maxLength * 0.6) cut = cut.slice(0, space);
    cut = cut.replace(/[\s,;:-]+$/u, '');
    result = cut.length >= minLength ? cut : result.slice(0, maxLength);
  }
  return result;
}
