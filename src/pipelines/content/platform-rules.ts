/**
 * What each social platform accepts, and the check a generated post must pass before it is saved.
 * A post that breaks a rule is regenerated with the broken rules in the prompt (social-task.ts).
 *
 * The character count is of the post as published: the text, a blank line, then the hashtags.
 */
import { z } from 'zod';
import type { Platform } from './schemas.ts';

export interface PlatformRule {
  /** Characters of the whole post (text + hashtags). */
  maxCharacters: number;
  minHashtags: number;
  maxHashtags: number;
  /** How the platform reads, for the prompt. */
  style: string;
}

export const platformRules: Record<Platform, PlatformRule> = {
  twitter: { maxCharacters: 280, minHashtags: 1, maxHashtags: 2, style: 'one punchy thought and a link-worthy hook' },
  instagram: { maxCharacters: 2200, minHashtags: 5, maxHashtags: 15, style: 'visual storytelling, line breaks, emoji in moderation' },
  linkedin: { maxCharacters: 3000, minHashtags: 3, maxHashtags: 5, style: 'professional insight, a short story or lesson, a question at the end' },
  // Facebook allows 63,206 characters, but posts past ~500 are truncated behind "See more".
  facebook: { maxCharacters: 2000, minHashtags: 0, maxHashtags: 3, style: 'conversational, community-minded, a clear call to action' },
  // TikTok captions allow 4,000 characters; the caption supports a video, so keep it short.
  tiktok: { maxCharacters: 2200, minHashtags: 3, maxHashtags: 5, style: 'energetic caption for a short video, trend-aware' },
};

export function composePost(text: string, hashtags: readonly string[]): string {
  const tags = hashtags.map((tag) => (tag.startsWith('#') ? tag : `#${tag}`)).join(' ');
  return tags.length === 0 ? text : `${text}\n\n${tags}`;
}

/** Hashtags as stored: one leading '#', no spaces inside, duplicates dropped. */
export function normaliseHashtags(hashtags: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const raw of hashtags) {
    const tag = `#${raw.replace(/^#+/, '').replace(/[^\p{L}\p{N}_]+/gu, '')}`;
    if (tag.length < 2 || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    result.push(tag);
  }
  return result;
}

/** The rules a post breaks, in words a model (and a person) can act on; empty when it passes. */
export function ruleViolations(platform: Platform, post: { text: string; hashtags: readonly string[] }): string[] {
  const rule = platformRules[platform];
  const violations: string[] = [];
  const characters = [...composePost(post.text, post.hashtags)].length;
  if (characters > rule.maxCharacters) violations.push(`${platform} posts are at most ${rule.maxCharacters} characters with hashtags; this one has ${characters}`);
  if (post.hashtags.length < rule.minHashtags || post.hashtags.length > rule.maxHashtags) {
    violations.push(`${platform} posts carry ${rule.minHashtags}-${rule.maxHashtags} hashtags; this one has ${post.hashtags.length}`);
  }
  if (post.text.trim().length === 0) violations.push('the text is empty');
  return violations;
}

/**
 * What the model is asked for on `platform`; its bounds leave room for the hashtags. It is asked
 * for up to two hashtags more than the minimum (within the maximum): models repeat a tag in
 * another case often enough that a bare minimum falls short once duplicates are dropped.
 * One schema object per platform: the LLM gateway converts each to JSON Schema once.
 */
export function socialAnswer(platform: Platform) {
  return socialAnswers[platform];
}

function socialAnswerFor(platform: Platform) {
  const rule = platformRules[platform];
  const hashtagRoom = rule.maxHashtags * 20 + 2;
  return z.object({
    text: z.string().min(1).max(Math.max(60, rule.maxCharacters - hashtagRoom)),
    hashtags: z.array(z.string().min(2).max(18)).min(Math.min(rule.maxHashtags, rule.minHashtags + 2)).max(rule.maxHashtags + 2),
    cta_text: z.string().max(120),
  });
}

const socialAnswers = Object.fromEntries((Object.keys(platformRules) as Platform[]).map((platform) => [platform, socialAnswerFor(platform)])) as Record<Platform, ReturnType<typeof socialAnswerFor>>;

/**
 * Hashtags as the post will carry them: normalised, duplicates dropped, and any beyond the
 * platform's maximum left off (dropping is a fix; nothing is ever added).
 */
export function platformHashtags(platform: Platform, hashtags: readonly string[]): string[] {
  return normaliseHashtags(hashtags).slice(0, platformRules[platform].maxHashtags);
}
