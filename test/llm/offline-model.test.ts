/**
 * The offline language model: valid output for 200 random pipeline-like schemas, determinism,
 * prompt-driven variety, and the behaviour pipelines rely on (varied topical gather items across
 * iterations, quality scores that rise as items accumulate).
 */
import { generateText, Output } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRandom, type Random } from '../../src/llm/deterministic-random.ts';
import { cosineSimilarity, embedText, OfflineLanguageModel } from '../../src/llm/index.ts';
import { extractSubjectTerms } from '../../src/llm/subject-terms.ts';

const model = new OfflineLanguageModel();

async function generate<T>(schema: z.ZodType<T>, prompt: string, instructions = 'You are a content assistant.'): Promise<T> {
  const result = await generateText({ model, system: instructions, prompt, output: Output.object({ schema }), maxRetries: 0 });
  return result.output as T;
}

const fieldNames = ['title', 'content', 'summary', 'context', 'description', 'tags', 'keywords', 'score', 'quality_score', 'coverage', 'name', 'slug', 'platform', 'tone', 'hashtags', 'body', 'rationale', 'difficulty', 'word_count', 'priority', 'url', 'email', 'persona', 'topic', 'notes', 'confidence', 'approved', 'category', 'id', 'created_at'];

/** A random zod schema of the shapes pipelines use: objects of text, enums, bounded numbers, arrays of items. */
function randomSchema(random: Random, depth = 0): z.ZodType {
  const fieldCount = random.integer(1, depth === 0 ? 6 : 4);
  const shape: Record<string, z.ZodType> = {};
  for (const name of random.shuffle(fieldNames).slice(0, fieldCount)) {
    let field = randomField(random, depth);
    const wrap = random.next();
    if (wrap < 0.12) field = field.optional();
    else if (wrap < 0.2) field = field.nullable();
    shape[name] = field;
  }
  return z.object(shape);
}

function randomString(random: Random): z.ZodString {
  let schema = z.string();
  const shape = random.integer(0, 4);
  if (shape === 1) schema = schema.min(random.integer(1, 60));
  if (shape === 2) schema = schema.max(random.integer(5, 200));
  if (shape === 3) {
    const minimum = random.integer(0, 80);
    schema = schema.min(minimum).max(minimum + random.integer(0, 300));
  }
  if (shape === 4) schema = schema.length(random.integer(1, 40));
  return schema;
}

function randomField(random: Random, depth: number): z.ZodType {
  const kind = random.integer(0, depth < 2 ? 15 : 11);
  switch (kind) {
    case 0:
    case 1:
      return randomString(random);
    case 2:
      return z.enum(random.shuffle(['low', 'medium', 'high', 'linkedin', 'twitter', 'beginner', 'expert', 'draft']).slice(0, random.integer(1, 5)) as [string, ...string[]]);
    case 3: {
      const minimum = random.pick([0, 1, -10]);
      return z.number().int().min(minimum).max(minimum + random.pick([1, 5, 10, 100]));
    }
    case 4:
      return random.next() < 0.5 ? z.number().min(0).max(1) : z.number().gt(0).lt(random.pick([1, 10, 1000]));
    case 5:
      return z.boolean();
    case 6: {
      const minimum = random.integer(0, 4);
      return z.array(randomString(random)).min(minimum).max(minimum + random.integer(0, 6));
    }
    case 7:
      return random.pick([z.email(), z.url(), z.uuid(), z.iso.datetime(), z.iso.date()]);
    case 8:
      return z.literal(random.pick(['v1', 'gather', 3]));
    case 9:
      return z.union([z.string().max(30), z.number()]);
    case 10:
      return z.number().int().multipleOf(random.pick([5, 10, 25]));
    case 11:
      return z.number().int();
    case 12:
    case 13: {
      const minimum = random.integer(1, 3);
      return z.array(randomSchema(random, depth + 1)).min(minimum).max(minimum + random.integer(0, 4));
    }
    case 14:
      return randomSchema(random, depth + 1);
    default:
      return random.next() < 0.5 ? z.record(z.string(), z.number().min(0).max(10)) : z.tuple([z.string(), z.number().int().min(1).max(5)]);
  }
}

const subjects = ['film production lighting', 'B2B marketing personas for a payroll startup', 'Rust borrow checker lessons', 'sourdough baking schedule', 'Kubernetes cost optimisation', 'podcast episode topics on urban gardening', 'company DNA of a Prague design studio', 'learning plan for Spanish verbs'];

describe('offline language model', () => {
  it('returns schema-valid JSON for 200 random pipeline-like schemas', async () => {
    const random = createRandom(20_240_501);
    const failures: string[] = [];
    for (let index = 0; index < 200; index += 1) {
      const schema = randomSchema(random);
      const prompt = `Generate content about ${random.pick(subjects)}. Variation ${index}.`;
      try {
        const result = await generateText({ model, prompt, output: Output.object({ schema }), maxRetries: 0 });
        expect(schema.safeParse(result.output).success).toBe(true);
      } catch (error) {
        failures.push(`#${index} ${JSON.stringify(z.toJSONSchema(schema)).slice(0, 400)}: ${(error as Error).message.slice(0, 300)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers as many items as the prompt asks for into an array with no maximum', async () => {
    const schema = z.object({ words: z.array(z.string().min(1)).min(1) });
    const { words } = await generate(schema, 'Propose 40 distinct English words about harbours and ships.');
    expect(words).toHaveLength(40);
  });

  it('repeats itself for the same prompt and differs for different prompts', async () => {
    const schema = z.object({ title: z.string(), content: z.string().min(40), tags: z.array(z.string()).min(2).max(5) });
    const first = await generate(schema, 'Write about color grading for a neo-noir feature.');
    const again = await generate(schema, 'Write about color grading for a neo-noir feature.');
    const other = await generate(schema, 'Write about dialogue recording on a noisy location.');
    expect(again).toEqual(first);
    expect(other.content).not.toEqual(first.content);
    expect(first.content.toLowerCase()).toMatch(/grading|noir|feature|color/);
    expect(other.content.toLowerCase()).toMatch(/dialogue|recording|noisy|location/);
  });

  it('gives a film department varied, topical gather items across iterations', async () => {
    const schema = z.object({
      items: z.array(z.object({ content: z.string().min(50), summary: z.string().max(240), context: z.string() })).min(3).max(5),
    });
    const instructions = 'You create gather items for the Film department of a movie project. Each item has content, summary and context.';
    const collected: string[] = [];
    for (let iteration = 1; iteration <= 5; iteration += 1) {
      const existing = collected.slice(-10).map((content) => `- ${content.slice(0, 60)}`).join('\n');
      const prompt = `Department: Film (cinematography, lighting, camera movement, location scouting, color grading).\nProject: a neo-noir thriller shot at night in Prague.\nIteration ${iteration} of 5. Generate 3 new gather items.\nExisting items (${collected.length}):\n${existing}`;
      const { items } = await generate(schema, prompt, instructions);
      expect(items).toHaveLength(3);
      collected.push(...items.map((item) => item.content));
    }
    expect(new Set(collected).size).toBe(collected.length);
    const topical = collected.filter((content) => /cinematography|lighting|camera|location|scouting|color|grading|noir|prague|thriller|night/i.test(content));
    expect(topical.length).toBe(collected.length);
    // A duplicate detector with a 0.9 threshold keeps nearly everything.
    const vectors = collected.map((content) => embedText(content));
    let nearDuplicates = 0;
    for (let left = 0; left < vectors.length; left += 1) {
      for (let right = left + 1; right < vectors.length; right += 1) {
        if (cosineSimilarity(vectors[left]!, vectors[right]!) >= 0.9) nearDuplicates += 1;
      }
    }
    expect(nearDuplicates).toBeLessThanOrEqual(1);
  });

  it('scores quality higher as the prompt reports more items', async () => {
    const schema = z.object({ quality_score: z.number().min(0).max(100), coverage_score: z.number().int().min(0).max(100), depth: z.number().min(0).max(10), feedback: z.string() });
    const scores: number[] = [];
    for (const count of [0, 3, 8, 15, 25]) {
      const items = Array.from({ length: count }, (_, index) => `- Lighting note ${index}: practical sources for the alley scene`).join('\n');
      const result = await generate(schema, `Rate the Film department's gather items (${count} items so far).\n${items}`);
      expect(schema.safeParse(result).success).toBe(true);
      scores.push(result.quality_score);
    }
    for (let index = 1; index < scores.length; index += 1) expect(scores[index]!).toBeGreaterThan(scores[index - 1]!);
    expect(scores[0]!).toBeLessThan(50);
    expect(scores.at(-1)!).toBeGreaterThanOrEqual(80);
  });

  it('honours the count a prompt asks for within the schema bounds', async () => {
    const schema = z.object({ topics: z.array(z.object({ title: z.string() })).min(1).max(10) });
    expect((await generate(schema, 'Generate 7 blog topics about urban gardening.')).topics).toHaveLength(7);
    expect((await generate(schema, 'Generate 40 blog topics about urban gardening.')).topics).toHaveLength(10);
  });

  it('reads subject terms, item counts and requests from a prompt', () => {
    const subject = extractSubjectTerms('Department: Sound. Generate 4 items about foley, room tone and foley artists in Berlin.\nExisting items: 12\n- a\n- b');
    expect(subject.terms).toEqual(expect.arrayContaining(['sound', 'foley', 'room', 'tone', 'Berlin']));
    expect(subject.requestedCount).toBe(4);
    expect(subject.existingItemCount).toBe(12);
    // Earlier offline output quoted back in a prompt does not turn template words into the subject.
    const echoed = extractSubjectTerms('Department: Sound design.\nExisting items:\n- A practical view of foley: timing, review and budget.\n- How room tone shapes foley, with attention to review.\nGenerate 3 new items.');
    expect(echoed.terms.slice(0, 4)).toEqual(expect.arrayContaining(['foley', 'sound']));
    expect(echoed.terms).toContain('room');
    expect(echoed.terms).not.toContain('practical');
    expect(echoed.terms).not.toContain('view');
  });

  it('answers plain text requests and streams', async () => {
    const text = await generateText({ model, prompt: 'Describe the lighting of the alley scene.', maxRetries: 0 });
    expect(text.text.toLowerCase()).toMatch(/lighting|alley|scene/);
    const streamed = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'Describe the lighting of the alley scene.' }] }] });
    const reader = streamed.stream.getReader();
    let collected = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      if (part.value.type === 'text-delta') collected += part.value.delta;
    }
    expect(collected).toBe(text.text);
  });
});
