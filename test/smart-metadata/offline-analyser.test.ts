/**
 * The offline analyser and the pieces every answer goes through: the project text (seed limits),
 * tag normalisation and validation, keywords, TextRank summary and difficulty.
 */
import { describe, expect, it } from 'vitest';
import { analyseOffline, offlineModelId } from '../../src/pipelines/smart-metadata/offline/index.ts';
import { assessDifficulty } from '../../src/pipelines/smart-metadata/offline/difficulty.ts';
import { textRank } from '../../src/pipelines/smart-metadata/offline/summary.ts';
import { countSyllables, foldPlural } from '../../src/pipelines/smart-metadata/offline/text.ts';
import { buildProjectText, fileExcerptChars, maxProjectTextChars } from '../../src/pipelines/smart-metadata/project-text.ts';

import { normaliseTags, validateMetadata } from '../../src/pipelines/smart-metadata/validate-answer.ts';
import { neuralNetworksProject, projectFixture } from './fixtures/projects.ts';

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
    expect(normaliseTags(['Machine Learning', 'machine_learning', ' #Python ', 'C++', 'C#', 'Éducation', '---', 'JavaScript'])).toEqual(['machine-learning', 'python', 'cpp', 'csharp', 'education', 'javascript']);
  });

  it('refuses fewer than three usable tags and keeps at most ten', () => {
    expect(() => validateMetadata({ ai_generated_tags: ['Python', 'python', '!!!'], content_summary: 'A summary of the project.', difficulty_level: 'beginner' }, 'mock:model'))
      .toThrow(/1 usable tag\(s\).*at least 3/);
    const many = validateMetadata({ ai_generated_tags: Array.from({ length: 14 }, (_unused, index) => `topic ${index}`), content_summary: 'A summary of the project.', difficulty_level: 'advanced' }, 'mock:model');
    expect(many.ai_generated_tags).toHaveLength(10);
    expect(() => validateMetadata({ ai_generated_tags: ['a', 'b', 'c'], content_summary: '   ', difficulty_level: 'advanced' }, 'mock:model')).toThrow(/content_summary/);
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
    expect(() => validateMetadata(analysis.answer, offlineModelId)).not.toThrow();
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

  it('still answers three honest tags and a summary for a project with no text', () => {
    const analysis = analyseOffline(buildProjectText(projectFixture({ name: 'X', goal_description: null, study_frequency: null })));
    expect(analysis.answer.ai_generated_tags).toEqual(['self-study', 'study-project', 'learning-plan']);
    expect(analysis.answer.content_summary).toBe('X: a self-study project.');
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

