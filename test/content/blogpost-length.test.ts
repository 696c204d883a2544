/**
 * generate_blogpost's length repair on a scripted writer: sections that come out short get an
 * extension, an extension that overshoots is condensed, and the condensing call is prompted for
 * the section it replaces (the extension, with the supervisor's reason), so the post ends with
 * each section once. Everything but the post's own calls is the offline model's.
 */
import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OfflineLanguageModel } from '../../src/llm/index.ts';
import { outlineInstructions, sectionInstructions } from '../../src/pipelines/content/prompts.ts';
import { jsonResult } from '../llm/helpers.ts';
import { callText } from '../support/model-calls.ts';
import { companyWithTopics, postOfTopic, runJob, startContentHarness, type ContentHarness } from './helpers.ts';

const offline = new OfflineLanguageModel('default');
/** The post's section calls, in the order they were made. */
const sectionPrompts: string[] = [];

/**
 * With 400-500 words asked for: three outline sections of 95 words (290 with the title and
 * headings, short), an extension of 500 (794, long), and a condensed extension of 150 (444).
 */
const writer = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'writer',
  doGenerate: async (options: LanguageModelV4CallOptions) => {
    const { system, user } = callText(options);
    if (system.startsWith(outlineInstructions)) {
      return jsonResult({ title: 'Cold brew', sections: ['One', 'Two', 'Three'].map((heading) => ({ heading, points: [`${heading} point`] })), excerpt: 'Cold brew at home.', meta_title: 'Cold brew', meta_description: 'Cold brew at home.', keywords: ['cold brew', 'coffee', 'home'] });
    }
    if (system.startsWith(sectionInstructions)) {
      sectionPrompts.push(user);
      if (user.includes('Shorter than before')) return jsonResult({ body: 'brewing '.repeat(150) });
      if (user.includes('"Putting it into practice"')) return jsonResult({ body: 'go '.repeat(500) });
      return jsonResult({ body: 'aeropress '.repeat(95) });
    }
    return offline.doGenerate(options);
  },
});

let harness: ContentHarness;
let companyId: string;
let topicId: string;

beforeAll(async () => {
  harness = await startContentHarness({ writer });
  let topicIds: string[];
  ({ companyId, topicIds } = await companyWithTopics(harness, { name: 'Length Roasters', year: 2027, month: 8, count: 1, approved: true }));
  topicId = topicIds[0]!;
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

it('condenses the section it names: an extension that overshot, with the supervisor\'s reason', async () => {
  const reason = 'Give the steeping time';
  const job = await runJob(harness, companyId, 'generate-blogpost', { topic_id: topicId, min_words: 400, max_words: 500, rejection_reason: reason });
  expect(job.result_data).toMatchObject({ word_count: 444, sections: 4 });

  // Three sections, one extension, one condensing of that extension; every call sees the reason.
  expect(sectionPrompts).toHaveLength(5);
  const condense = sectionPrompts.at(-1)!;
  expect(condense).toContain('Write section 4, "Putting it into practice"');
  expect(condense).toContain('Outline: 1. One 2. Two 3. Three 4. Putting it into practice');
  for (const prompt of sectionPrompts) expect(prompt).toContain(`A supervisor rejected the previous version: ${reason}.`);

  // Each section once, the extension condensed under its own heading.
  const post = await postOfTopic(harness, companyId, topicId);
  expect(post.content.match(/^## .*/gm)).toEqual(['## One', '## Two', '## Three', '## Putting it into practice']);
  expect(post.content.split('## Putting it into practice\n\n')[1]!.trim()).toBe('brewing '.repeat(150).trim());
  expect(post.word_count).toBe(444);
});
