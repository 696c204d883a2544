/**
 * The content pipeline's prompts. Each stage gets the company's DNA (the research) as context, so
 * personas, topics and posts speak for the company rather than for a generic brand.
 */
import type { Company } from './companies-store.ts';
import type { Persona } from './personas-store.ts';
import { platformRules } from './platform-rules.ts';
import { notFound, type CompanyDna, type Outline, type Platform } from './schemas.ts';
import type { Topic } from './topics-store.ts';

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export const dnaInstructions = `You are a company researcher. Research the company from public sources and fill every data point.
Where research finds nothing for a point, answer exactly "${notFound}" (text), an empty list (lists) or null (tone scales).
Never guess, never fill a point from general knowledge about the industry. Name your sources (field, url, title) when you have them.`;

export function dnaPrompt(company: Company): string {
  return [`Company: ${company.name}`, `Website: ${company.website ?? notFound}`, 'Research this company\'s DNA: mission, vision, values, audience, products, tone of voice, competitors and the other data points.'].join('\n');
}

/**
 * Data points in the order PostgreSQL's jsonb keeps object keys (shorter first, then by bytes):
 * the DNA reads back from its table in that order, and the same DNA straight from the research
 * step must make the same prompt (the model's answer, the response cache's key).
 */
function storedOrder(left: string, right: string): number {
  return Buffer.byteLength(left) - Buffer.byteLength(right) || Buffer.compare(Buffer.from(left), Buffer.from(right));
}

/** The DNA as the later prompts quote it: the points research found, one per line. */
export function dnaContext(company: Company, dna: CompanyDna | undefined): string {
  if (!dna) return `Company: ${company.name} (no researched DNA yet)`;
  const lines = [`Company: ${company.name}`];
  for (const [field, value] of Object.entries(dna).sort(([left], [right]) => storedOrder(left, right))) {
    if (value === null || value === notFound || (Array.isArray(value) && value.length === 0)) continue;
    lines.push(`${field.replaceAll('_', ' ')}: ${Array.isArray(value) ? value.join('; ') : String(value)}`);
  }
  return lines.join('\n');
}

export const personasInstructions = `You are a marketing strategist. Create distinct buyer personas for the company, each a believable person of its audience.
Give each one of the 12 Jung archetypes (innocent, everyman, hero, caregiver, explorer, rebel, lover, creator, jester, sage, magician, ruler)
and one of the 16 MBTI types; use different archetypes across personas. 3-5 values, 3-5 expertise topics, a vocabulary level.`;

export function personasPrompt(context: string, count: number): string {
  return `${context}\n\nCreate ${count} personas for this company's content marketing.`;
}

export const topicsInstructions = `You are a content planner. Plan blog topics for one persona of the company for one month: each topic useful to that persona,
true to the company's DNA, distinct from the others, with SEO keywords and the week of the month (1-5) it is published in.`;

export function topicsPrompt(context: string, persona: Persona, options: { year: number; month: number; count: number; weeks: number[] }): string {
  return [
    context,
    '',
    `Persona: ${persona.name} (${persona.archetype}, ${persona.mbti}, ${persona.vocabulary_level} vocabulary). ${persona.bio}`,
    `Values: ${persona.values.join(', ')}. Frustrations: ${persona.frustrations.join(', ')}. Expertise: ${persona.expertise_topics.join(', ')}.`,
    `Plan ${options.count} topics for ${monthNames[options.month - 1]} ${options.year}, in weeks ${options.weeks.join(', ')} (in that order).`,
  ].join('\n');
}

export function topicRegenerationPrompt(context: string, persona: Persona, topic: Topic, reason: string): string {
  return [
    context,
    '',
    `Persona: ${persona.name} (${persona.archetype}, ${persona.mbti}). ${persona.bio}`,
    `The supervisor rejected this topic: "${topic.title}": ${topic.description}`,
    `Reason given: ${reason}`,
    `Propose one replacement topic for week ${topic.week_number} that addresses the reason.`,
  ].join('\n');
}

export const outlineInstructions = `You are a senior content writer. Outline a long-form blog post: a title, sections with the points each makes,
an excerpt, an SEO meta title (at most 60 characters), a meta description (at most 160 characters) and keywords.`;

export function outlinePrompt(context: string, persona: Persona, topic: Topic, options: { minWords: number; maxWords: number; sections: number; rejectionReason?: string | undefined }): string {
  return [
    context,
    '',
    `Reader: ${persona.name}, ${persona.vocabulary_level} vocabulary; cares about ${persona.values.join(', ')}.`,
    `Topic: ${topic.title}. ${topic.description} Keywords: ${topic.keywords.join(', ')}.`,
    `Plan ${options.sections} sections for a post of ${options.minWords}-${options.maxWords} words.`,
    ...(options.rejectionReason ? [`A supervisor rejected the previous version: ${options.rejectionReason}. This version must address that.`] : []),
  ].join('\n');
}

export const sectionInstructions = `You are a senior content writer. Write one section of a blog post in markdown paragraphs (no heading: it is added for you),
in the company's tone, for the named reader, making the section's points with concrete detail.`;

export function sectionPrompt(context: string, persona: Persona, outline: Outline, index: number, targetWords: number, rejectionReason?: string): string {
  const section = outline.sections[index]!;
  return [
    context,
    '',
    `Post: ${outline.title}. Reader: ${persona.name} (${persona.vocabulary_level} vocabulary).`,
    `Outline: ${outline.sections.map((entry, position) => `${position + 1}. ${entry.heading}`).join(' ')}`,
    `Write section ${index + 1}, "${section.heading}", about ${targetWords} words, making these points: ${section.points.join('; ')}.`,
    ...(rejectionReason ? [`A supervisor rejected the previous version: ${rejectionReason}.`] : []),
  ].join('\n');
}

export const socialInstructions = `You are a social media manager. Turn a blog post into one post for the named platform, in the platform's style and
within its limits (characters include the hashtags), with a call to action pointing to the post.`;

export function socialPrompt(context: string, post: { title: string; excerpt: string; keywords: string[] }, platform: Platform, options: { violations?: string[]; rejectionReason?: string | undefined } = {}): string {
  const rule = platformRules[platform];
  return [
    context,
    '',
    `Blog post: ${post.title}. ${post.excerpt} Keywords: ${post.keywords.join(', ')}.`,
    `Platform: ${platform}: ${rule.style}. At most ${rule.maxCharacters} characters with hashtags; ${rule.minHashtags}-${rule.maxHashtags} hashtags.`,
    ...(options.violations && options.violations.length > 0 ? [`Your previous answer broke the rules: ${options.violations.join('; ')}. Fix that.`] : []),
    ...(options.rejectionReason ? [`A supervisor rejected the previous version: ${options.rejectionReason}.`] : []),
  ].join('\n');
}
