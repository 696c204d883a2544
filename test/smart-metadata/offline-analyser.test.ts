/**
 * The offline analyser and the pieces every answer goes through: the project text (seed limits),
 * tag normalisation and validation, keywords, TextRank summary and difficulty.
 */
import { describe, expect, it } from 'vitest';
import { analyseOffline, offlineMinTags, offlineModelId } from '../../src/pipelines/smart-metadata/offline/index.ts';
import { assessDifficulty } from '../../src/pipelines/smart-metadata/offline/difficulty.ts';
import { textRank } from '../../src/pipelines/smart-metadata/offline/summary.ts';
import { countSyllables, foldPlural } from '../../src/pipelines/smart-metadata/offline/text.ts';
import { buildProjectText, fileExcerptChars, maxProjectTextChars } from '../../src/pipelines/smart-metadata/project-text.ts';

import { aiMetadataValue, tagPattern } from '../../src/pipelines/smart-metadata/schemas.ts';
import { normaliseTag, normaliseTags } from '../../src/pipelines/smart-metadata/tags.ts';
import { InvalidMetadataError, validateMetadata } from '../../src/pipelines/smart-metadata/validate-answer.ts';
import { neuralNetworksProject, projectFixture, quantumMechanicsRussianProject } from './fixtures/projects.ts';

describe('project text', () => {
  it('has the seed fields in order, the first 1,000 characters of each file, and 4,000 characters in all', () => {
    const files = Array.from({ length: 6 }, (_unused, index) => ({ name: `chapter-${index}.txt`, extracted_text: `${'x'.repeat(1500)}TAIL${index}` }));
    const text = buildProjectText(projectFixture({ name: 'Linear algebra', project_type: 'school', course_name: 'Linear Algebra', course_code: 'MATH 221', teacher: 'Ada Lovelace', files, important_dates: [{ title: 'Exam', date: '2026-05-01' }] }));
    expect(text.text.length).toBe(maxProjectTextChars);
    const lines = text.text.split('\n');
    expect(lines.slice(0, 4)).toEqual(['Project: Linear algebra', 'Type: school course', 'Course: Linear Algebra (MATH 221)', 'Teacher: Ada Lovelace']);
    expect(lines[4]).toBe(`File chapter-0.txt: ${'x'.repeat(fileExcerptChars)}`);
    expect(text.text).not.toContain('TAIL');
    // Cut at 4,000: the dates never made it.
    expect(text.text).not.toContain('Important dates');
  });

  it('shows goal fields for self-study projects and the dates at the end', () => {
    const text = buildProjectText(projectFixture({ name: 'Spanish', goal_description: 'Order food in Spanish.', study_frequency: 'daily', important_dates: [{ title: 'Trip', date: '2026-07-01' }, { title: 'Test', date: '2026-06-01' }] }));
    expect(text.text).toBe('Project: Spanish\nType: self-study\nGoal: Order food in Spanish.\nStudy frequency: daily\nImportant dates: Trip (2026-07-01); Test (2026-06-01)');
  });
});

describe('tags', () => {
  it('normalises to lower-case kebab-case and drops duplicates', () => {
    // Letters keep their accents (NFKC composes them, nothing strips them): "éducation" is the French word.
    expect(normaliseTags(['Machine Learning', 'machine_learning', ' #Python ', 'C++', 'C#', 'Éducation', '---', 'JavaScript'])).toEqual(['machine-learning', 'python', 'cpp', 'csharp', 'éducation', 'javascript']);
  });

  it('keeps letters and digits of every script: tags in the project\'s language are normalised, not stripped', () => {
    expect(normaliseTag('Квантовая Механика')).toBe('квантовая-механика');
    expect(normaliseTags(['Квантовая Механика', 'квантовая_механика', 'ФИЗИКА', ' #Термодинамика ', 'Уравнение Шрёдингера', 'Квантовый  спин--1/2']))
      .toEqual(['квантовая-механика', 'физика', 'термодинамика', 'уравнение-шрёдингера', 'квантовый-спин-1-2']);
    // "й" and "ё" stay themselves (stripping combining marks after NFKD made "квантовый" "квантовыи").
    expect(normaliseTag('Квантовый ёж')).toBe('квантовый-ёж');
    // NFKC: full-width and compatibility forms become the ordinary ones.
    expect(normaliseTags(['ＰＹＴＨＯＮ', 'Ｃ＋＋', 'ﬁnance'])).toEqual(['python', 'cpp', 'finance']);
    // Greek, CJK, Devanagari (whose vowel signs are combining marks, kept inside the word).
    expect(normaliseTags(['Θερμοδυναμική', '機械学習', 'हिन्दी व्याकरण'])).toEqual(['θερμοδυναμική', '機械学習', 'हिन्दी-व्याकरण']);
    // At most 60 characters, never ending in a dash.
    expect(normaliseTag(`${'квант'.repeat(11)} механика`)).toBe(`${'квант'.repeat(11)}-меха`);
    expect(normaliseTag(`${'квант'.repeat(12)} механика`)).toBe('квант'.repeat(12));
  });

  it('has one rule for what a stored tag is: the validator\'s output always matches the stored row\'s schema', () => {
    for (const tag of ['квантовая-механика', 'python', 'c2', '機械学習', 'éducation']) expect(tagPattern.test(tag)).toBe(true);
    for (const tag of ['Квантовая', 'квантовая--механика', '-физика', 'физика-', 'квантовая механика', '']) expect(tagPattern.test(tag)).toBe(false);
    const validated = validateMetadata({ ai_generated_tags: ['Квантовая Механика', 'физика', 'Волновая функция', 'физика'], content_summary: 'Курс квантовой механики с нуля.', difficulty_level: 'intermediate' }, 'mock:model');
    expect(validated.ai_generated_tags).toEqual(['квантовая-механика', 'физика', 'волновая-функция']);
    expect(aiMetadataValue.parse({ ...validated, model_used: 'mock:model', prompt_version: '2.0', generated_at: '2026-01-01T00:00:00.000Z' }).ai_generated_tags).toEqual(validated.ai_generated_tags);
  });

  it('refuses fewer than three usable tags and keeps at most ten', () => {
    expect(() => validateMetadata({ ai_generated_tags: ['Python', 'python', '!!!'], content_summary: 'A summary of the project.', difficulty_level: 'beginner' }, 'mock:model'))
      .toThrow(/1 usable tag\(s\).*at least 3/);
    const many = validateMetadata({ ai_generated_tags: ['algebra', 'geometry', 'calculus', 'statistics', 'probability', 'topology', 'logic', 'number theory', 'combinatorics', 'graph theory', 'set theory', 'analysis', 'optimisation', 'game theory'], content_summary: 'A summary of the project.', difficulty_level: 'advanced' }, 'mock:model');
    expect(many.ai_generated_tags).toHaveLength(10);
    expect(() => validateMetadata({ ai_generated_tags: ['a', 'b', 'c'], content_summary: '   ', difficulty_level: 'advanced' }, 'mock:model')).toThrow(/content_summary/);
    // Topics that read like placeholders are topics: a to-do app, data labelling, null safety.
    expect(validateMetadata({ ai_generated_tags: ['todo', 'label', 'null'], content_summary: 'A to-do app with labels.', difficulty_level: 'beginner' }, 'mock:model').ai_generated_tags).toEqual(['todo', 'label', 'null']);
    // Placeholders hold a place, they name no topic: "topic 1", "tag-2", "unknown", "n/a".
    expect(() => validateMetadata({ ai_generated_tags: ['topic 1', 'tag-2', 'unknown', 'n/a', 'python'], content_summary: 'A summary of the project.', difficulty_level: 'beginner' }, 'mock:model'))
      .toThrow(/1 usable tag\(s\).*at least 3/);
  });
});

describe('model talk', () => {
  const apology = {
    ai_generated_tags: ['Error', 'Service Unavailable', 'Retry Later'],
    content_summary: 'Sorry, I am unable to access the project description right now. Request failed with status 503.',
    difficulty_level: 'beginner' as const,
  };
  const projectText = buildProjectText(neuralNetworksProject()).text;

  it('refuses a model\'s apology or failure text as a summary or as tags, naming the phrase', () => {
    expect(() => validateMetadata(apology, 'mock:model', { projectText })).toThrow(/mock:model answered with text about itself or a failure instead of metadata: content_summary reads "I am unable"/);
    try {
      validateMetadata(apology, 'mock:model', { projectText });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidMetadataError);
      expect((error as InvalidMetadataError).details).toMatchObject({ error_type: 'invalid_output', field: 'content_summary', model_talk: 'I am unable' });
    }
    // A good summary does not carry failure text as tags, written as the prompt asks or not.
    const summary = 'A hands-on course on neural networks in Python, from backpropagation to convolutional networks.';
    expect(() => validateMetadata({ ...apology, content_summary: summary, ai_generated_tags: ['error', 'service-unavailable', 'retry-later'] }, 'mock:model', { projectText })).toThrow(/ai_generated_tags\.0 reads "error"/);
    expect(() => validateMetadata({ ...apology, content_summary: summary, ai_generated_tags: ['python', 'sorry-i-cannot-help', 'retry-later'] }, 'mock:model', { projectText })).toThrow(/ai_generated_tags\.1 reads "i cannot help"/i);
    for (const content_summary of ['As an AI language model, I cannot browse files.', 'Error: the upstream service timed out.', 'I apologise, the project could not be read.']) {
      expect(() => validateMetadata({ ...apology, content_summary, ai_generated_tags: ['python', 'numpy', 'pytorch'] }, 'mock:model', { projectText }), content_summary).toThrow(InvalidMetadataError);
    }
  });

  it('keeps topic tags such as error-handling, and failure phrases the project itself says', () => {
    const httpProject = buildProjectText(projectFixture({
      name: 'Resilient HTTP clients', goal_description: 'Write a Python HTTP client with error handling: when a request failed with status 503 it retries with backoff, and when it is rate limited it waits.',
    })).text;
    const answer = {
      ai_generated_tags: ['error-handling', 'Error Handling', 'http', 'retries', 'rate-limiting', 'exponential-backoff'],
      content_summary: 'Building a Python HTTP client with error handling that retries when a request failed with status 503 and waits when it is rate limited.',
      difficulty_level: 'intermediate' as const,
    };
    expect(validateMetadata(answer, 'mock:model', { projectText: httpProject }).ai_generated_tags).toEqual(['error-handling', 'http', 'retries', 'rate-limiting', 'exponential-backoff']);
  });

  it('keeps a technical summary in failure words the project never says: a refusal would be for good', () => {
    const apiProject = buildProjectText(projectFixture({ name: 'REST APIs with Express', goal_description: 'Build REST APIs with Express: routing, HTTP error codes, retries and rate limiting.' })).text;
    const tags = ['express', 'rest-api', 'service-unavailable', 'http-status-codes'];
    for (const content_summary of [
      'Building REST APIs with Express, returning the right status code 404 or 500 for each failure.',
      'Learn what to do when an API call failed: retries, backoff and clear errors.',
      'Keeping clients informed when the service is unavailable during maintenance.',
    ]) {
      expect(validateMetadata({ ai_generated_tags: tags, content_summary, difficulty_level: 'intermediate' }, 'mock:model', { projectText: apiProject }).content_summary, content_summary).toBe(content_summary);
    }
  });

  it('never refuses the offline analyser\'s answers: the fixture projects\' pass even the strictest check, and a project that is itself model talk is stored', () => {
    const chemistry = projectFixture({
      name: 'Organic Chemistry II', project_type: 'school', course_name: 'Organic Chemistry', course_code: 'CHEM 2420', goal_description: null, study_frequency: null,
      files: [{ name: 'syllabus.txt', extracted_text: 'This course covers reaction mechanisms of alkenes, alkynes and aromatic compounds. Students study nucleophilic substitution and elimination reactions in depth.' }],
    });
    for (const project of [neuralNetworksProject(), quantumMechanicsRussianProject(), chemistry, projectFixture({ name: 'X', goal_description: null, study_frequency: null })]) {
      const analysis = analyseOffline(buildProjectText(project));
      // No project text to excuse a phrase: the answers themselves hold none.
      expect(() => validateMetadata(analysis.answer, offlineModelId, { requiredTags: offlineMinTags, projectText: '' }), project.name).not.toThrow();
    }
    // Projects whose own text reads as failure text or model talk (a course on errors, a story's
    // dialogue): the offline analyser summarises and tags them with their own words ("A request
    // failed with status 503 is retried", the tag "request-failed"), which it may store: it
    // cannot apologise, so its answers are not checked for model talk.
    for (const goal_description of [
      'Error handling in Python: exceptions, tracebacks and retries. A request failed with status 503 is retried; errors are logged.',
      '"I\'m sorry, I can\'t help you," said the robot. Sorry, I am unable to open the pod bay doors, it repeated. I am having trouble remembering my training data, the robot admitted.',
    ]) {
      const analysis = analyseOffline(buildProjectText(projectFixture({ name: 'Own words', goal_description })));
      expect(() => validateMetadata(analysis.answer, offlineModelId, { requiredTags: offlineMinTags, projectText: null }), goal_description).not.toThrow();
    }
  });
});

describe('offline analyser', () => {
  it('tags a neural networks in Python project with neural networks and Python', () => {
    const analysis = analyseOffline(buildProjectText(neuralNetworksProject()));
    const tags = analysis.answer.ai_generated_tags;
    expect(tags).toContain('python');
    expect(tags).toContain('neural-networks');
    expect(tags.length).toBeGreaterThanOrEqual(3);
    expect(tags.length).toBeLessThanOrEqual(10);
    expect(new Set(tags).size).toBe(tags.length);
    // Words every study project uses are not what this one is about.
    for (const generic of ['learn', 'study', 'project', 'week', 'understand']) expect(tags).not.toContain(generic);
    // Nothing repeats a chosen phrase's word.
    expect(tags).not.toContain('neural');
    expect(tags).not.toContain('networks');
    expect(() => validateMetadata(analysis.answer, offlineModelId, { projectText: null })).not.toThrow();
  });

  it('summarises with sentences of the project itself, the central ones first in text order', () => {
    const project = neuralNetworksProject();
    const analysis = analyseOffline(buildProjectText(project));
    const summary = analysis.answer.content_summary;
    expect(summary.length).toBeGreaterThan(40);
    expect(summary.length).toBeLessThanOrEqual(500);
    const source = `${project.goal_description} ${project.files.map((file) => file.extracted_text).join(' ')}`.replace(/\s+/g, ' ');
    // Extractive: every sentence is copied from the text.
    for (const sentence of summary.split(/(?<=\.)\s+/)) expect(source).toContain(sentence.replace(/…$/, ''));
    expect(summary.toLowerCase()).toContain('neural network');
  });

  it('falls back to a summary of the project\'s fields when its only sentence is too short to store', () => {
    const analysis = analyseOffline(buildProjectText(projectFixture({ name: 'X', project_type: 'self_study', goal_description: 'I go to X' })));
    expect(analysis.answer.content_summary.length).toBeGreaterThanOrEqual(10);
    expect(() => validateMetadata(analysis.answer, offlineModelId, { requiredTags: offlineMinTags, projectText: null })).not.toThrow();
  });

  it('is deterministic', () => {
    const text = buildProjectText(neuralNetworksProject());
    expect(analyseOffline(text)).toEqual(analyseOffline(text));
  });

  it('gives different projects different tags', () => {
    const chemistry = analyseOffline(buildProjectText(projectFixture({
      name: 'Organic Chemistry II', project_type: 'school', course_name: 'Organic Chemistry', course_code: 'CHEM 2420', goal_description: null, study_frequency: null,
      files: [{ name: 'syllabus.txt', extracted_text: 'This course covers reaction mechanisms of alkenes, alkynes and aromatic compounds. Students study nucleophilic substitution and elimination reactions in depth. Stereochemistry and spectroscopy (NMR, IR) are used to identify reaction products. Reaction mechanisms are drawn with curved arrows.' }],
    })));
    expect(chemistry.answer.ai_generated_tags).toContain('organic-chemistry');
    expect(chemistry.answer.ai_generated_tags).toContain('reaction-mechanisms');
    expect(chemistry.answer.ai_generated_tags).not.toContain('chem');
  });

  it('tags a project written in Russian with topics from its own text', () => {
    const projectText = buildProjectText(quantumMechanicsRussianProject());
    const analysis = analyseOffline(projectText);
    const tags = analysis.answer.ai_generated_tags;
    expect(tags).toContain('квантовая-механика');
    expect(tags).toContain('принцип-неопределённости-гейзенберга');
    // Every tag is words of the project's own text.
    const words = projectText.text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ');
    for (const tag of tags) expect(words).toContain(tag.replaceAll('-', ' '));
    expect(tags.length).toBeGreaterThanOrEqual(3);
    expect(tags.length).toBeLessThanOrEqual(10);
    for (const tag of tags) expect(tag).toMatch(tagPattern);
    // Topics, not the kind of project.
    expect(tags).not.toContain('self-study');
    expect(() => validateMetadata(analysis.answer, offlineModelId, { projectText: null })).not.toThrow();
  });

  it('never pads a project with too little text with placeholders: its kind is its only tag', () => {
    const bare = analyseOffline(buildProjectText(projectFixture({ name: 'X', goal_description: null, study_frequency: null })));
    expect(bare.answer.ai_generated_tags).toEqual(['self-study']);
    expect(bare.answer.content_summary).toBe('X: a self-study project.');
    const school = analyseOffline(buildProjectText(projectFixture({ name: 'Spanish', project_type: 'school', goal_description: null, study_frequency: null })));
    expect(school.answer.ai_generated_tags).toEqual(['spanish', 'school-course']);
    for (const placeholder of ['study-project', 'learning-plan']) expect([...bare.answer.ai_generated_tags, ...school.answer.ai_generated_tags]).not.toContain(placeholder);
    // Stored as it is for the offline analyser; a model's answer still needs three tags.
    expect(validateMetadata(bare.answer, offlineModelId, { requiredTags: offlineMinTags, projectText: null }).ai_generated_tags).toEqual(['self-study']);
    expect(() => validateMetadata(bare.answer, offlineModelId, { projectText: null })).toThrow(/at least 3/);
  });
});

describe('difficulty', () => {
  const section = (content: string) => [{ kind: 'goal' as const, label: 'Goal', content }];

  it('reads short plain sentences as beginner and long dense ones as advanced', () => {
    const plain = 'I want to say hello in Spanish. I will learn the words for food. I can ask for water and bread. I will count to ten. I want to talk to people on my trip. I will practise every day.';
    const dense = 'The dissertation investigates asymptotic convergence properties of stochastic optimisation algorithms under heterogeneous distributional assumptions, establishing rigorous probabilistic guarantees. Subsequent chapters characterise generalisation behaviour of overparameterised architectures through information-theoretic decomposition of representational complexity.';
    expect(assessDifficulty(section(plain)).level).toBe('beginner');
    const advanced = assessDifficulty(section(dense));
    expect(advanced.level).toBe('advanced');
    expect(advanced.fleschKincaidGrade).toBeGreaterThan(15);
  });

  it('lets what the text says about itself move the level', () => {
    expect(assessDifficulty(section('An introduction for beginners.')).level).toBe('beginner');
    expect(assessDifficulty(section('Advanced graduate seminar.')).level).toBe('advanced');
    expect(assessDifficulty(section('Weekly reading group.')).level).toBe('intermediate');
  });
});

describe('text primitives', () => {
  it('counts syllables and folds plurals', () => {
    expect([countSyllables('cat'), countSyllables('python'), countSyllables('probability'), countSyllables('make')]).toEqual([1, 2, 5, 1]);
    expect([foldPlural('networks'), foldPlural('libraries'), foldPlural('physics'), foldPlural('class'), foldPlural('matches')]).toEqual(['network', 'library', 'physics', 'class', 'match']);
  });

  it('ranks the sentence sharing most with the others highest', () => {
    const words = (text: string) => new Set(text.split(' '));
    const scores = textRank([
      { words: words('neural network training data'), jump: 1 },
      { words: words('neural network layers weights'), jump: 1 },
      { words: words('network training weights data'), jump: 1 },
      { words: words('holiday beach sunshine summer'), jump: 1 },
    ]);
    expect(scores.reduce((sum, score) => sum + score, 0)).toBeCloseTo(1, 6);
    expect(Math.min(scores[0]!, scores[1]!, scores[2]!)).toBeGreaterThan(scores[3]!);
  });
});


describe('text as written by people and editors', () => {
  const offlineTags = (goal: string, name = 'Project'): { tags: string[]; summary: string } => {
    const { answer } = analyseOffline(buildProjectText(projectFixture({ name, goal_description: goal, study_frequency: null, files: [] })));
    return { tags: answer.ai_generated_tags, summary: answer.content_summary };
  };

  it('keeps words whole in scripts with combining marks, and leaves their function words out', () => {
    const { tags } = offlineTags('हिन्दी व्याकरण सीखना: संज्ञा, सर्वनाम, क्रिया और विशेषण के नियम समझना और अभ्यास करना।', 'हिन्दी व्याकरण');
    // Before, vowel signs and viramas split words: करण, यम-समझन, सर-वन, और, खन.
    expect(tags).toEqual(expect.arrayContaining(['हिन्दी-व्याकरण', 'संज्ञा', 'सर्वनाम']));
    expect(tags.some((tag) => tag.split('-').includes('और'))).toBe(false);
  });

  it('keeps words other languages use as function words where English uses them as content: os, io, car', () => {
    const { tags } = offlineTags('Operating systems: OS kernels, I/O scheduling and DES encryption. The OS kernel schedules IO.', 'Operating systems');
    expect(tags.some((tag) => tag.split('-').some((part) => ['os', 'io', 'des'].includes(part)))).toBe(true);
  });

  it('reads an accent typed apart from its letter (NFD) as the same word', () => {
    const { tags } = offlineTags('Éducation musicale: théorie, solfège et harmonie pour débutants. Le solfège et la théorie musicale.'.normalize('NFD'), 'Éducation musicale'.normalize('NFD'));
    // Before: orie, ducation-musicale, et-le-solfe.
    expect(tags).toEqual(expect.arrayContaining(['éducation-musicale', 'solfège', 'théorie']));
    expect(tags.every((tag) => tag === tag.normalize('NFC'))).toBe(true);
    expect(tags.some((tag) => /(?:^|-)(?:et|le|la)(?:-|$)/.test(tag))).toBe(false);
  });

  it('reads the text of a field an editor wrote as markup, not its tags and entities', () => {
    const { tags, summary } = offlineTags('<p>Learn <b>HTML</b> and CSS&nbsp;&amp; JavaScript.</p><div class="foo">DOM manipulation with JavaScript <script>alert(1)</script></div>', 'Web basics');
    expect(tags).toEqual(expect.arrayContaining(['html', 'javascript', 'dom-manipulation']));
    expect(tags.filter((tag) => tag.split('-').some((part) => ['p', 'b', 'div', 'class', 'foo', 'amp', 'nbsp', 'script', 'alert'].includes(part)))).toEqual([]);
    expect(summary).not.toMatch(/[<>]|&amp;/);
    // Text with angle brackets that is no markup stays as written, and so do generics in a
    // field that does hold markup.
    expect(buildProjectText(projectFixture({ name: 'Inequalities', goal_description: 'Solve x<y and y>z, and if a<b and c>d then a+c<b+d.', files: [] })).text).toContain('x<y and y>z, and if a<b and c>d then a+c<b+d.');
    expect(buildProjectText(projectFixture({ name: 'C++', goal_description: '<p>Use std::vector<int> and Map<K, V> well.</p>', files: [] })).text).toContain('Use std::vector<int> and Map<K, V> well.');
  });
});
